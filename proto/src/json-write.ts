/**
 * @module ts-proto objects → protojson, driven by the generated schema table (proto/gen/schema.ts).
 *
 * Writes what Go's `protojson.MarshalOptions{UseProtoNames: true}` writes (the Hubble CLI and exporter):
 * keys are proto names in declaration order; zero scalars, zero enums and empty lists are omitted, while
 * set messages (even empty ones), set oneof members and set wrappers (even `false`) are written; enums by
 * name, or as a bare number when the schema does not know the value; 64-bit integers as decimal strings;
 * well-known types in their JSON forms (see well-known.ts).
 */

import type { Timestamp } from '../gen/google/protobuf/timestamp.js';
import { enumSchemas, type FieldSchema, messageSchemas } from '../gen/schema.js';
import { enumName, isKnownEnumValue } from './enums.js';
import { formatFieldMask } from './field-mask.js';
import { describeJson, HubbleJsonError, joinPath } from './json-error.js';
import { isScalarZero, writeScalar } from './json-scalars.js';
import { formatTimestamp } from './timestamp.js';
import {
  ANY,
  type AnyTypeRegistry,
  anyTypeName,
  FIELD_MASK,
  TIMESTAMP,
  WRAPPER_KINDS,
} from './well-known.js';

/** A JSON value as produced by the writer (and accepted by JSON.stringify). */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** A JSON object. */
export type JsonObject = { [key: string]: JsonValue };

/** What the writer needs besides the message. */
export interface JsonWriteOptions {
  /** Codecs for message types that may appear inside google.protobuf.Any. Default none. */
  readonly anyTypes?: AnyTypeRegistry;
}

function writeEnum(typeName: string, value: unknown, path: string): string | number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new HubbleJsonError(path, `enum ${typeName} must be an integer, got ${describeJson(value)}`);
  }
  const values = enumSchemas[typeName];
  if (!values) throw new HubbleJsonError(path, `enum type ${typeName} is not in the schema`);
  return isKnownEnumValue(values, value) ? enumName(values, value) : value;
}

function writeAny(value: unknown, path: string, options: JsonWriteOptions): JsonObject {
  const any = value as { type_url?: unknown; value?: unknown };
  if (typeof any.type_url !== 'string' || !(any.value instanceof Uint8Array)) {
    throw new HubbleJsonError(path, 'google.protobuf.Any must be { type_url: string, value: Uint8Array }');
  }
  const typeName = anyTypeName(any.type_url);
  const codec = options.anyTypes?.[typeName];
  if (!codec || !messageSchemas[typeName]) {
    throw new HubbleJsonError(
      path,
      `google.protobuf.Any of type "${any.type_url}" cannot be written: type not registered`,
    );
  }
  return { '@type': any.type_url, ...writeMessage(typeName, codec.decode(any.value), path, options) };
}

function writeSingle(field: FieldSchema, value: unknown, path: string, options: JsonWriteOptions): JsonValue {
  try {
    if (field.kind === 'enum') return writeEnum(field.type!, value, path);
    if (field.kind !== 'message') return writeScalar(field.kind, value);
    const type = field.type!;
    const wrapped = WRAPPER_KINDS[type];
    if (wrapped) return writeScalar(wrapped, value);
    if (type === TIMESTAMP) return formatTimestamp(value as Timestamp);
    if (type === FIELD_MASK) {
      if (!Array.isArray(value)) throw new RangeError('FieldMask must be an array of paths');
      return formatFieldMask(value as string[]);
    }
    if (type === ANY) return writeAny(value, path, options);
    return writeMessage(type, value, path, options);
  } catch (error) {
    if (error instanceof RangeError) throw new HubbleJsonError(path, error.message, { cause: error });
    throw error;
  }
}

/** Writes one message of type `typeName` (e.g. `flow.Flow`) as a JSON object; `path` prefixes errors. */
export function writeMessage(
  typeName: string,
  message: unknown,
  path: string,
  options: JsonWriteOptions,
): JsonObject {
  const fields = messageSchemas[typeName];
  if (!fields) throw new HubbleJsonError(path, `message type ${typeName} is not in the schema`);
  if (message === null || typeof message !== 'object' || Array.isArray(message)) {
    throw new HubbleJsonError(path, `${typeName} must be an object, got ${describeJson(message)}`);
  }
  const source = message as Record<string, unknown>;
  const out: JsonObject = {};
  for (const field of fields) {
    const value = source[field.name];
    if (value === undefined || value === null) continue;
    const fieldPath = joinPath(path, field.name);
    if (field.repeated) {
      if (!Array.isArray(value)) throw new HubbleJsonError(fieldPath, 'repeated field must be an array');
      if (value.length > 0) {
        out[field.name] = value.map((item, i) => writeSingle(field, item, `${fieldPath}[${i}]`, options));
      }
      continue;
    }
    // Fields with presence (messages, wrappers, oneof members) are written whenever set.
    if (field.kind !== 'message' && field.oneof === undefined && isScalarZero(value)) continue;
    out[field.name] = writeSingle(field, value, fieldPath, options);
  }
  return out;
}

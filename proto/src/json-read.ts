/**
 * @module protojson → ts-proto objects, driven by the generated schema table (proto/gen/schema.ts).
 *
 * Reads what Go's `protojson.Unmarshal` reads: keys by proto name (`node_name`, `IP`) or lowerCamel JSON
 * name (`nodeName`); enums by name or number; 64-bit integers as strings (or safe numbers); `null` as
 * "not set"; well-known types in their JSON forms (see well-known.ts). Builds objects shaped exactly like
 * ts-proto's `decode` output: every field present, in declaration order, defaults filled in.
 */
import { enumSchemas, type FieldSchema, messageSchemas } from '../gen/schema.js';
import { parseFieldMask } from './field-mask.js';
import { describeJson, HubbleJsonError, joinPath } from './json-error.js';
import { readScalar, scalarDefault } from './json-scalars.js';
import { parseTimestamp } from './timestamp.js';
import {
  ANY,
  type AnyTypeRegistry,
  anyTypeName,
  FIELD_MASK,
  TIMESTAMP,
  WRAPPER_KINDS,
} from './well-known.js';

/** How lenient reading is. */
export interface JsonReadOptions {
  /**
   * Skip keys and enum names the schema does not know (a newer Cilium) instead of failing, like
   * `hubble observe --input-file` after its "unknown field" warning. Default true.
   */
  readonly ignoreUnknownFields?: boolean;
  /** Codecs for message types that may appear inside google.protobuf.Any. Default none. */
  readonly anyTypes?: AnyTypeRegistry;
}

interface ReadContext {
  readonly ignoreUnknown: boolean;
  readonly anyTypes: AnyTypeRegistry;
}

const fieldIndexes = new Map<string, Map<string, FieldSchema>>();

function fieldsOf(typeName: string, path: string): readonly FieldSchema[] {
  const fields = messageSchemas[typeName];
  if (!fields) throw new HubbleJsonError(path, `message type ${typeName} is not in the schema`);
  return fields;
}

function fieldIndex(typeName: string, fields: readonly FieldSchema[]): Map<string, FieldSchema> {
  let index = fieldIndexes.get(typeName);
  if (!index) {
    index = new Map();
    for (const f of fields) {
      index.set(f.name, f);
      index.set(f.jsonName, f);
    }
    fieldIndexes.set(typeName, index);
  }
  return index;
}

/** The value ts-proto gives a field that is absent from the wire. */
function fieldDefault(field: FieldSchema): unknown {
  if (field.repeated) return [];
  if (field.kind === 'message' || field.oneof !== undefined) return undefined;
  if (field.kind === 'enum') return 0;
  return scalarDefault(field.kind);
}

function readEnum(typeName: string, json: unknown, path: string, ctx: ReadContext): number | undefined {
  if (typeof json === 'number') {
    if (!Number.isInteger(json) || json < -2_147_483_648 || json > 2_147_483_647) {
      throw new HubbleJsonError(path, `enum ${typeName} number must be an int32, got ${json}`);
    }
    return json;
  }
  if (typeof json !== 'string') {
    throw new HubbleJsonError(
      path,
      `enum ${typeName} must be a value name or number, got ${describeJson(json)}`,
    );
  }
  const values = enumSchemas[typeName];
  const n = values && Object.hasOwn(values, json) ? values[json] : undefined;
  if (n === undefined) {
    if (ctx.ignoreUnknown) return undefined;
    throw new HubbleJsonError(path, `unknown ${typeName} value ${JSON.stringify(json)}`);
  }
  return n;
}

function readAny(json: unknown, path: string, ctx: ReadContext): { type_url: string; value: Uint8Array } {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new HubbleJsonError(path, `google.protobuf.Any must be an object, got ${describeJson(json)}`);
  }
  const { '@type': typeUrl, ...rest } = json as Record<string, unknown>;
  if (typeof typeUrl !== 'string' || typeUrl === '') {
    throw new HubbleJsonError(path, 'google.protobuf.Any needs a non-empty "@type"');
  }
  const typeName = anyTypeName(typeUrl);
  const codec = ctx.anyTypes[typeName];
  if (!codec || !messageSchemas[typeName]) {
    throw new HubbleJsonError(
      path,
      `google.protobuf.Any of type ${typeUrl} cannot be read: type not registered`,
    );
  }
  const message = readMessage(typeName, rest, path, ctx);
  return { type_url: typeUrl, value: codec.encode(message as never).finish() };
}

function readSingle(field: FieldSchema, json: unknown, path: string, ctx: ReadContext): unknown {
  try {
    if (field.kind === 'enum') return readEnum(field.type!, json, path, ctx);
    if (field.kind !== 'message') return readScalar(field.kind, json);
    const type = field.type!;
    const wrapped = WRAPPER_KINDS[type];
    if (wrapped) return readScalar(wrapped, json);
    if (type === TIMESTAMP) {
      if (typeof json !== 'string')
        throw new RangeError(`Timestamp must be an RFC 3339 string, got ${typeof json}`);
      return parseTimestamp(json);
    }
    if (type === FIELD_MASK) {
      if (typeof json !== 'string') throw new RangeError(`FieldMask must be a string, got ${typeof json}`);
      return parseFieldMask(json);
    }
    if (type === ANY) return readAny(json, path, ctx);
    return readMessage(type, json, path, ctx);
  } catch (error) {
    if (error instanceof RangeError) throw new HubbleJsonError(path, error.message, { cause: error });
    throw error;
  }
}

/** Reads one message of type `typeName` (e.g. `flow.Flow`) from parsed JSON; `path` prefixes errors. */
export function readMessage(
  typeName: string,
  json: unknown,
  path: string,
  ctx: ReadContext,
): Record<string, unknown> {
  const fields = fieldsOf(typeName, path);
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new HubbleJsonError(path, `${typeName} must be a JSON object, got ${describeJson(json)}`);
  }
  const message: Record<string, unknown> = {};
  for (const f of fields) message[f.name] = fieldDefault(f);
  const index = fieldIndex(typeName, fields);
  const seen = new Map<string, string>();
  const oneofs = new Map<string, string>();
  for (const [key, value] of Object.entries(json)) {
    const field = index.get(key);
    const fieldPath = joinPath(path, key);
    if (!field) {
      if (ctx.ignoreUnknown) continue;
      throw new HubbleJsonError(fieldPath, `unknown field of ${typeName}`);
    }
    const earlier = seen.get(field.name);
    if (earlier !== undefined) {
      throw new HubbleJsonError(fieldPath, `field given twice (as "${earlier}" and "${key}")`);
    }
    seen.set(field.name, key);
    if (value === null) continue;
    if (field.oneof !== undefined) {
      const other = oneofs.get(field.oneof);
      if (other !== undefined) {
        throw new HubbleJsonError(fieldPath, `oneof ${field.oneof} is already set by "${other}"`);
      }
      oneofs.set(field.oneof, key);
    }
    if (field.repeated) {
      if (!Array.isArray(value)) {
        throw new HubbleJsonError(
          fieldPath,
          `repeated field must be a JSON array, got ${describeJson(value)}`,
        );
      }
      const list: unknown[] = [];
      value.forEach((item, i) => {
        const itemPath = `${fieldPath}[${i}]`;
        if (item === null) throw new HubbleJsonError(itemPath, 'null is not allowed in a repeated field');
        const v = readSingle(field, item, itemPath, ctx);
        if (v !== undefined) list.push(v);
      });
      message[field.name] = list;
    } else {
      const v = readSingle(field, value, fieldPath, ctx);
      if (v !== undefined) message[field.name] = v;
    }
  }
  return message;
}

/** Builds the reading context from options. */
export function readContext(options: JsonReadOptions = {}): ReadContext {
  return { ignoreUnknown: options.ignoreUnknownFields ?? true, anyTypes: options.anyTypes ?? {} };
}

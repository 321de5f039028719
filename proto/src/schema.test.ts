/**
 * Every message of the schema, not just those the captures contain: the JSON reader builds objects shaped
 * exactly like ts-proto's decode output, and a synthetic message with every field set (oneofs: first
 * member) survives JSON → message → bytes → message → JSON.
 */
import { describe, expect, it } from 'vitest';
import * as flow from '../gen/flow/flow.js';
import * as ingest from '../gen/flowtrail/ingest.js';
import * as health from '../gen/health/health.js';
import * as observer from '../gen/observer/observer.js';
import * as peer from '../gen/peer/peer.js';
import * as relay from '../gen/relay/relay.js';
import { enumSchemas, type FieldSchema, messageSchemas } from '../gen/schema.js';
import { messageFromJson, messageToJson } from './hubble-json.js';
import type { JsonObject, JsonValue } from './json-write.js';

interface Codec {
  encode(message: unknown): { finish(): Uint8Array };
  decode(input: Uint8Array): unknown;
}

const modules: Record<string, Record<string, unknown>> = {
  flow,
  observer,
  relay,
  peer,
  'grpc.health.v1': health,
  'flowtrail.ingest.v1': ingest,
};

/** The generated MessageFns of a full type name: `flow.FlowFilter.Experimental` → FlowFilter_Experimental. */
function codecOf(typeName: string): Codec {
  const pkg = Object.keys(modules).find((p) => typeName.startsWith(`${p}.`))!;
  const exportName = typeName.slice(pkg.length + 1).replace(/\./g, '_');
  const codec = modules[pkg]![exportName];
  if (!codec) throw new Error(`no generated export ${exportName} for ${typeName}`);
  return codec as Codec;
}

function sampleSingle(field: FieldSchema, depth: number): JsonValue | undefined {
  switch (field.kind) {
    case 'string':
      return `${field.name}-<&>`;
    case 'bool':
      return true;
    case 'int32':
    case 'sint32':
    case 'sfixed32':
      return -7;
    case 'uint32':
    case 'fixed32':
      return 4294967295;
    case 'int64':
    case 'sint64':
    case 'sfixed64':
      return '-9007199254740993';
    case 'uint64':
    case 'fixed64':
      return '18446744073709551615';
    case 'double':
      return 1.5;
    case 'float':
      return 0.1;
    case 'bytes':
      return 'AQID';
    case 'enum': {
      const names = Object.keys(enumSchemas[field.type!]!);
      return names[names.length - 1];
    }
  }
  switch (field.type) {
    case 'google.protobuf.Timestamp':
      return '2021-11-10T10:41:26.095336300Z';
    case 'google.protobuf.BoolValue':
      return false;
    case 'google.protobuf.UInt32Value':
      return 0;
    case 'google.protobuf.Int32Value':
      return -1;
    case 'google.protobuf.FieldMask':
      return 'time,source.podName';
    case 'google.protobuf.Any':
      return undefined;
  }
  return depth < 4 ? sample(field.type!, depth + 1) : undefined;
}

/** A JSON object of type `typeName` with every field set to a non-default value. */
function sample(typeName: string, depth = 0): JsonObject {
  const out: JsonObject = {};
  const oneofs = new Set<string>();
  for (const field of messageSchemas[typeName]!) {
    if (field.oneof !== undefined) {
      if (oneofs.has(field.oneof)) continue;
      oneofs.add(field.oneof);
    }
    const value = sampleSingle(field, depth);
    if (value === undefined) continue;
    out[field.name] = field.repeated ? [value, value] : value;
  }
  return out;
}

const typeNames = Object.keys(messageSchemas).map((typeName) => ({ typeName }));

describe('proto > schema', () => {
  it('describes every message and enum of proto/', () => {
    expect(typeNames).toHaveLength(73);
    expect(messageSchemas['flow.Flow']).toHaveLength(45);
    expect(messageSchemas['flow.FlowFilter']).toHaveLength(41);
    expect(enumSchemas['flow.DropReason']?.['DROP_PUNT_PROXY']).toBe(205);
  });

  it.each(typeNames)('$typeName read from {} is shaped like its decode output', ({ typeName }) => {
    expect(messageFromJson(typeName, {})).toStrictEqual(codecOf(typeName).decode(new Uint8Array(0)));
  });

  it.each(typeNames)('$typeName with every field set survives JSON → bytes → JSON', ({ typeName }) => {
    const json = sample(typeName);
    const codec = codecOf(typeName);
    const message = messageFromJson(typeName, json, { ignoreUnknownFields: false });
    const decoded = codec.decode(codec.encode(message).finish());
    expect(decoded).toStrictEqual(message);
    expect(messageToJson(typeName, decoded)).toStrictEqual(json);
  });
});

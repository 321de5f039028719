/**
 * @module How ts-proto represents the google.protobuf types our schema uses, for the JSON codec.
 *
 * | type                              | in memory (ts-proto)            | JSON                                 |
 * |-----------------------------------|---------------------------------|--------------------------------------|
 * | Timestamp                         | `{ seconds: bigint, nanos }`    | RFC 3339 string                      |
 * | BoolValue, Int32Value, … wrappers | the bare value, or undefined    | the bare value (`false` is written)  |
 * | FieldMask                         | `string[]` of snake_case paths  | `"a.b,c"` in lowerCamel              |
 * | Any                               | `{ type_url, value: Uint8Array }`| `{"@type": url, …fields}`            |
 */
import type { ScalarKind } from './json-scalars.js';

/** Wrapper message types, unwrapped by ts-proto to the scalar kind of their `value` field. */
export const WRAPPER_KINDS: Readonly<Record<string, ScalarKind>> = {
  'google.protobuf.DoubleValue': 'double',
  'google.protobuf.FloatValue': 'float',
  'google.protobuf.Int64Value': 'int64',
  'google.protobuf.UInt64Value': 'uint64',
  'google.protobuf.Int32Value': 'int32',
  'google.protobuf.UInt32Value': 'uint32',
  'google.protobuf.BoolValue': 'bool',
  'google.protobuf.StringValue': 'string',
  'google.protobuf.BytesValue': 'bytes',
};

export const TIMESTAMP = 'google.protobuf.Timestamp';
export const FIELD_MASK = 'google.protobuf.FieldMask';
export const ANY = 'google.protobuf.Any';

/**
 * Binary codec of a message type that may travel inside google.protobuf.Any. Generated ts-proto
 * `MessageFns` (e.g. `Flow` from proto/gen/flow/flow.js) fit as they are.
 */
export interface AnyCodec {
  encode(message: never): { finish(): Uint8Array };
  decode(input: Uint8Array): unknown;
}

/** Codecs for Any payloads, keyed by full message name (`flow.Flow`), not by type URL. */
export type AnyTypeRegistry = Readonly<Record<string, AnyCodec>>;

/** The full message name of an Any type URL (`type.googleapis.com/flow.Flow` → `flow.Flow`). */
export function anyTypeName(typeUrl: string): string {
  return typeUrl.slice(typeUrl.lastIndexOf('/') + 1);
}

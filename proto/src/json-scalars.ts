/**
 * @module protojson rules for scalar fields, in both directions.
 *
 * | proto                         | in memory (ts-proto) | JSON out                       | JSON accepted in                   |
 * |-------------------------------|----------------------|--------------------------------|------------------------------------|
 * | int32, uint32, sint32, fixed32| number               | number                         | integral number or decimal string  |
 * | int64, uint64, sint64, fixed64| bigint               | decimal string                 | decimal string or safe-integer number |
 * | double, float                 | number               | number, "NaN", "±Infinity"     | the same, or a numeric string      |
 * | bool                          | boolean              | true/false                     | true/false                         |
 * | string                        | string               | string                         | string                             |
 * | bytes                         | Uint8Array           | standard base64, padded        | standard or URL-safe base64        |
 * Readers throw a RangeError with the reason; callers add the field path.
 */
import type { FieldKind } from '../gen/schema.js';

/** The scalar kinds (every FieldKind but `message` and `enum`). */
export type ScalarKind = Exclude<FieldKind, 'message' | 'enum'>;

const INT_RANGES: Record<string, readonly [bigint, bigint]> = {
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
  sint32: [-(2n ** 31n), 2n ** 31n - 1n],
  sfixed32: [-(2n ** 31n), 2n ** 31n - 1n],
  uint32: [0n, 2n ** 32n - 1n],
  fixed32: [0n, 2n ** 32n - 1n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  sint64: [-(2n ** 63n), 2n ** 63n - 1n],
  sfixed64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
  fixed64: [0n, 2n ** 64n - 1n],
};

const JSON_NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;
const DIGITS = /^-?\d+$/;
const FLOAT32_MAX = 3.4028234663852886e38;

/** True for the kinds that ts-proto holds as bigint. */
export function is64Bit(kind: FieldKind): boolean {
  return (
    kind === 'int64' || kind === 'uint64' || kind === 'sint64' || kind === 'fixed64' || kind === 'sfixed64'
  );
}

/** The default (zero) value of a scalar kind in ts-proto's representation. */
export function scalarDefault(kind: ScalarKind): number | bigint | boolean | string | Uint8Array {
  if (is64Bit(kind)) return 0n;
  if (kind === 'bool') return false;
  if (kind === 'string') return '';
  if (kind === 'bytes') return new Uint8Array(0);
  return 0;
}

/** True when a scalar equals its kind's zero value and so is omitted from JSON (-0.0 is not zero). */
export function isScalarZero(value: unknown): boolean {
  if (typeof value === 'number') return value === 0 && !Object.is(value, -0);
  if (value instanceof Uint8Array) return value.length === 0;
  return value === 0n || value === '' || value === false;
}

function readInteger(kind: ScalarKind, json: unknown): bigint {
  let n: bigint;
  if (typeof json === 'number') {
    if (!Number.isInteger(json)) throw new RangeError(`${kind} must be an integer, got ${json}`);
    if (!Number.isSafeInteger(json)) {
      throw new RangeError(
        `${kind} ${json} is beyond 2^53 and lost precision as a JSON number; send it as a string`,
      );
    }
    n = BigInt(json);
  } else if (typeof json === 'string') {
    if (DIGITS.test(json)) {
      n = BigInt(json);
    } else if (JSON_NUMBER.test(json) && Number.isSafeInteger(Number(json))) {
      n = BigInt(Number(json));
    } else {
      throw new RangeError(`${kind} must be a decimal integer, got string ${JSON.stringify(json)}`);
    }
  } else {
    throw new RangeError(`${kind} must be a number or a decimal string, got ${typeof json}`);
  }
  const [min, max] = INT_RANGES[kind]!;
  if (n < min || n > max) throw new RangeError(`${n} is out of range for ${kind} [${min}, ${max}]`);
  return n;
}

function readFloat(kind: ScalarKind, json: unknown): number {
  let n: number;
  if (typeof json === 'number') {
    n = json;
  } else if (json === 'NaN' || json === 'Infinity' || json === '-Infinity') {
    return Number(json);
  } else if (typeof json === 'string' && JSON_NUMBER.test(json)) {
    n = Number(json);
  } else {
    throw new RangeError(`${kind} must be a number, "NaN", "Infinity" or "-Infinity", got ${typeof json}`);
  }
  if (!Number.isFinite(n) || (kind === 'float' && Math.abs(n) > FLOAT32_MAX)) {
    throw new RangeError(`${json} is out of range for ${kind}`);
  }
  return kind === 'float' ? Math.fround(n) : n;
}

/** Decodes standard or URL-safe base64, padded or not, without Node's Buffer. */
export function base64Decode(text: string): Uint8Array {
  const std = text.replace(/-/g, '+').replace(/_/g, '/').replace(/=+$/, '');
  if (!/^[A-Za-z0-9+/]*$/.test(std) || std.length % 4 === 1) throw new RangeError('bytes must be base64');
  const binary = atob(std.padEnd(std.length + ((4 - (std.length % 4)) % 4), '='));
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/** Encodes standard, padded base64 (protojson's form), without Node's Buffer. */
export function base64Encode(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/** Reads one scalar from JSON into ts-proto's representation; throws a RangeError with the reason. */
export function readScalar(kind: ScalarKind, json: unknown): number | bigint | boolean | string | Uint8Array {
  switch (kind) {
    case 'bool':
      if (typeof json !== 'boolean') throw new RangeError(`bool must be true or false, got ${typeof json}`);
      return json;
    case 'string':
      if (typeof json !== 'string') throw new RangeError(`string expected, got ${typeof json}`);
      return json;
    case 'bytes':
      if (typeof json !== 'string') throw new RangeError(`bytes must be a base64 string, got ${typeof json}`);
      return base64Decode(json);
    case 'double':
    case 'float':
      return readFloat(kind, json);
    default: {
      const n = readInteger(kind, json);
      return is64Bit(kind) ? n : Number(n);
    }
  }
}

/** The shortest decimal that reads back as the same float32, as Go prints float32 fields. */
function float32Text(value: number): number {
  for (let digits = 1; digits < 17; digits++) {
    const candidate = Number(value.toPrecision(digits));
    if (Math.fround(candidate) === value) return candidate;
  }
  return value;
}

/** Writes one scalar in ts-proto's representation as protojson does; throws a RangeError when invalid. */
export function writeScalar(kind: ScalarKind, value: unknown): boolean | number | string {
  switch (kind) {
    case 'bool':
      if (typeof value !== 'boolean') throw new RangeError(`bool expected, got ${typeof value}`);
      return value;
    case 'string':
      if (typeof value !== 'string') throw new RangeError(`string expected, got ${typeof value}`);
      return value;
    case 'bytes':
      if (!(value instanceof Uint8Array)) throw new RangeError(`Uint8Array expected, got ${typeof value}`);
      return base64Encode(value);
    case 'double':
    case 'float':
      if (typeof value !== 'number') throw new RangeError(`number expected, got ${typeof value}`);
      if (Number.isNaN(value)) return 'NaN';
      if (value === Number.POSITIVE_INFINITY) return 'Infinity';
      if (value === Number.NEGATIVE_INFINITY) return '-Infinity';
      return kind === 'float' ? float32Text(value) : value;
    default: {
      if (typeof value !== 'bigint' && !(typeof value === 'number' && Number.isInteger(value))) {
        throw new RangeError(
          `${kind} must be ${is64Bit(kind) ? 'a bigint' : 'an integer'}, got ${String(value)}`,
        );
      }
      const n = BigInt(value);
      const [min, max] = INT_RANGES[kind]!;
      if (n < min || n > max) throw new RangeError(`${n} is out of range for ${kind}`);
      return is64Bit(kind) ? n.toString() : Number(n);
    }
  }
}

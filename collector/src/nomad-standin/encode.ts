/**
 * Nomad's JSON encoding (go-msgpack's JSON handle, reference/nomad-api.md §0): object keys sorted
 * by byte order, `null` for nil maps, slices and pointers, int64 nanosecond times as bare
 * integers (bigint here, so they stay exact), and, for structs with `_struct omitempty`
 * (Allocation), every zero field left out.
 * @module
 */

/** True when Go's omitempty would drop the value. */
export function isEmpty(v: unknown): boolean {
  if (v === undefined || v === null || v === '' || v === 0 || v === 0n || v === false) return true;
  if (Array.isArray(v)) return v.length === 0;
  return false;
}

/** Encodes a value the way Nomad does; `omitEmpty` applies to the top-level object's fields only. */
export function encodeGo(value: unknown, omitEmpty = false): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'null';
  if (typeof value === 'string' || typeof value === 'boolean') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((v) => encodeGo(v)).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => !(omitEmpty && isEmpty(v)))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${encodeGo(v)}`).join(',')}}`;
}

/**
 * Formatting shared by every page: times stay in UTC with the sub-second digits Hubble gives
 * (nanoseconds), counts are grouped, and addresses show their port the way Hubble does.
 * @module
 */

/** RFC 3339 time (any sub-second precision) → `2024-05-01 10:03:07.123456789` (UTC, all digits kept). */
export function fmtTime(rfc3339: string | undefined | null): string {
  if (!rfc3339) return '';
  const m = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(\.\d+)?Z?$/.exec(rfc3339);
  if (!m) return rfc3339;
  return `${m[1]} ${m[2]}${m[3] ?? ''}`;
}

/** Short time for axes and lists: `10:03:07.123` when on the same day as now, else with the date. */
export function fmtShortTime(rfc3339: string | undefined | null): string {
  const full = fmtTime(rfc3339);
  return full.replace(/(\.\d{3})\d*$/, '$1');
}

const nf = new Intl.NumberFormat('en-US');
/** A count, grouped (`12,345`). Accepts the API's stringified 64-bit numbers. */
export function fmtCount(n: number | string | undefined | null): string {
  if (n === undefined || n === null || n === '') return '0';
  const v = typeof n === 'string' ? Number(n) : n;
  return Number.isFinite(v) ? nf.format(v) : String(n);
}

/** A rate with two significant decimals below 10. */
export function fmtRate(n: number): string {
  if (n === 0) return '0';
  if (n < 10) return n.toFixed(2);
  return nf.format(Math.round(n));
}

/** `addr:port`, with brackets for IPv6 as Hubble prints it. */
export function fmtAddr(ip: string | undefined, port?: number | string | null): string {
  if (!ip) return '';
  if (port === undefined || port === null || port === '' || port === 0) return ip;
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** Date → RFC 3339 UTC with milliseconds. */
export function toIso(d: Date): string {
  return d.toISOString();
}

/** RFC 3339 → value for an `<input type="datetime-local">` interpreted as UTC (seconds kept). */
export function toLocalInput(rfc3339: string): string {
  const d = new Date(rfc3339);
  if (Number.isNaN(d.getTime())) return '';
  return d.toISOString().slice(0, 19);
}

/** `<input type="datetime-local">` value (UTC) → RFC 3339, or undefined when empty/invalid. */
export function fromLocalInput(v: string): string | undefined {
  if (!v) return undefined;
  const d = new Date(v.length === 16 ? `${v}:00Z` : `${v}Z`);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

/** RFC 3339 (nanosecond digits allowed) → milliseconds since the epoch, with sub-ms as fraction. */
export function timeMs(rfc3339: string): number {
  const m = /^(.*?\d\d:\d\d:\d\d)(\.(\d+))?(Z|[+-]\d\d:\d\d)?$/.exec(rfc3339);
  if (!m) return Date.parse(rfc3339);
  const base = Date.parse(`${m[1]}${m[4] ?? 'Z'}`);
  const frac = m[3] ? Number(`0.${m[3]}`) * 1000 : 0;
  return base + frac;
}

/**
 * Time arguments and instants as exact Unix nanoseconds (bigint). Hubble and Nomad both carry
 * nanosecond times that a JS number cannot hold, and an investigation names an instant to the
 * nanosecond, so every CLI flag and API parameter that names a time goes through here.
 * @module
 */
import { InputError } from './errors.ts';

const NS_PER_MS = 1_000_000n;
const NS_PER_S = 1_000_000_000n;

/** Nanoseconds in each unit accepted by relative times such as `-15m` or `-1h30m`. */
const unitNs: Readonly<Record<string, bigint>> = {
  ns: 1n,
  us: 1_000n,
  µs: 1_000n,
  ms: NS_PER_MS,
  s: NS_PER_S,
  m: 60n * NS_PER_S,
  h: 3_600n * NS_PER_S,
  d: 86_400n * NS_PER_S,
  w: 604_800n * NS_PER_S,
};

/** The current time in Unix nanoseconds (millisecond resolution, as the wall clock gives it). */
export function nowNs(): bigint {
  return BigInt(Date.now()) * NS_PER_MS;
}

const rfc3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?\s*(Z|z|[+-]\d{2}:?\d{2})?$/;
const relative = /^([+-])((?:\d+(?:ns|us|µs|ms|s|m|h|d|w))+)$/;
const relativePart = /(\d+)(ns|us|µs|ms|s|m|h|d|w)/g;

/**
 * The instants a time argument may name: 1970-01-01T00:00:00Z up to 2262-04-11T00:00:00Z, the
 * span where Unix nanoseconds fit a signed 64-bit integer (ClickHouse Int64 and DateTime64(9)).
 * Anything outside would wrap into another date, so it is refused instead.
 */
export const minTimeNs = 0n;
export const maxTimeNs = 9_223_286_400_000_000_000n;

/** Longest duration argument (a step, a window): 366 days. */
export const maxDurationNs = 366n * unitNs['d']!;

/** Returns `ns` when it is a time argument may name, else throws InputError naming `param`. */
export function checkTimeNs(ns: bigint, text: string, param = 'time'): bigint {
  if (ns < minTimeNs || ns > maxTimeNs) throw outOfRange(text, param);
  return ns;
}

function outOfRange(text: string, param: string): InputError {
  return new InputError(
    `invalid time "${text.slice(0, 64)}": out of range (1970-01-01T00:00:00Z to 2262-04-11T00:00:00Z)`,
    param,
  );
}

const daysIn = (y: number, m: number) =>
  m === 2 ? ((y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28) : [4, 6, 9, 11].includes(m) ? 30 : 31;

/**
 * Parses a time argument into Unix nanoseconds. Accepts RFC 3339 with up to nine fractional
 * digits (a missing zone means UTC, so ClickHouse's `YYYY-MM-DD hh:mm:ss.nnnnnnnnn` works too),
 * bare epoch nanoseconds, `now`, and relative forms such as `-15m`, `-1h30m` or `+2s`
 * (relative to `now`). Throws InputError naming the accepted forms otherwise, and for instants
 * outside minTimeNs..maxTimeNs (years before 1970, e.g. a two-digit `0099`, or after 2262).
 */
export function parseTimeArg(s: string, now: bigint = nowNs()): bigint {
  const text = s.trim();
  if (text === 'now') return now;
  if (/^\d+$/.test(text)) return checkTimeNs(text.length > 20 ? maxTimeNs + 1n : BigInt(text), s);
  const rel = relative.exec(text);
  if (rel) {
    let delta = 0n;
    for (const m of rel[2]!.matchAll(relativePart)) delta += BigInt(m[1]!) * unitNs[m[2]!]!;
    return checkTimeNs(rel[1] === '-' ? now - delta : now + delta, s);
  }
  const m = rfc3339.exec(text);
  if (m) {
    const [, y, mo, d, h, mi, sec, frac, zone] = m;
    const year = Number(y);
    if (
      Number(mo) < 1 ||
      Number(mo) > 12 ||
      Number(d) < 1 ||
      Number(d) > daysIn(year, Number(mo)) ||
      Number(h) > 23 ||
      Number(mi) > 59 ||
      Number(sec) > 60
    ) {
      throw new InputError(`invalid time "${s.slice(0, 64)}": out of range`, 'time');
    }
    // Date.UTC reads years 0-99 as 1900-1999; such years are out of range anyway.
    if (year < 1970 || year > 2262) throw outOfRange(s, 'time');
    const ms = Date.UTC(year, Number(mo) - 1, Number(d), Number(h), Number(mi), Number(sec));
    let ns = BigInt(ms) * NS_PER_MS + BigInt((frac ?? '').padEnd(9, '0') || '0');
    if (zone && zone.toUpperCase() !== 'Z') {
      const sign = zone.startsWith('-') ? -1n : 1n;
      const digits = zone.slice(1).replace(':', '');
      const offsetMin = BigInt(Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4)));
      ns -= sign * offsetMin * 60n * NS_PER_S;
    }
    return checkTimeNs(ns, s);
  }
  throw new InputError(
    `invalid time "${s.slice(0, 64)}": use RFC 3339 (2024-05-01T10:03:00.123456789Z), epoch nanoseconds, now, or a relative form like -15m`,
    'time',
  );
}

const durationForm = /^(?:\d{1,12}(?:ns|us|µs|ms|s|m|h|d|w))+$/;

/**
 * Parses a duration argument (`30s`, `5m`, `1h30m`, `1d`) into nanoseconds, refusing zero and
 * anything longer than `maxNs` (default maxDurationNs) with an InputError naming `param`.
 */
export function parseDurationArg(s: string, param: string, maxNs: bigint = maxDurationNs): bigint {
  const text = s.trim();
  if (!durationForm.test(text)) {
    throw new InputError(`${param}: expected a duration like 30s, 5m, 1h or 1d`, param);
  }
  let ns = 0n;
  for (const m of text.matchAll(relativePart)) ns += BigInt(m[1]!) * unitNs[m[2]!]!;
  if (ns <= 0n || ns > maxNs) {
    throw new InputError(`${param}: out of range (more than 0, at most ${maxNs / unitNs['d']!}d)`, param);
  }
  return ns;
}

/**
 * Unix nanoseconds of a protobuf Timestamp given as a request argument (gRPC `since`/`until`),
 * range-checked like parseTimeArg (undefined when absent). `seconds: 2^63-1` is refused, not wrapped.
 */
export function timestampArgNs(
  ts: { seconds: bigint; nanos: number } | undefined,
  param: string,
): bigint | undefined {
  if (!ts) return undefined;
  if (!Number.isInteger(ts.nanos) || ts.nanos < 0 || ts.nanos >= 1e9) {
    throw new InputError(`${param}: nanos must be in [0, 999999999]`, param);
  }
  return checkTimeNs(BigInt(ts.seconds) * NS_PER_S + BigInt(ts.nanos), `${ts.seconds}s`, param);
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/**
 * Formats Unix nanoseconds as RFC 3339 UTC with exactly nine fractional digits
 * (`2021-11-04T09:14:09.798459001Z`), so every instant we print round-trips through parseTimeArg.
 */
export function formatTimeNs(ns: bigint): string {
  let secs = ns / NS_PER_S;
  let frac = ns % NS_PER_S;
  if (frac < 0n) {
    frac += NS_PER_S;
    secs -= 1n;
  }
  const d = new Date(Number(secs) * 1000);
  return (
    `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}` +
    `T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${frac.toString().padStart(9, '0')}Z`
  );
}

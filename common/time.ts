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
 * Parses a time argument into Unix nanoseconds. Accepts RFC 3339 with up to nine fractional
 * digits (a missing zone means UTC, so ClickHouse's `YYYY-MM-DD hh:mm:ss.nnnnnnnnn` works too),
 * bare epoch nanoseconds, `now`, and relative forms such as `-15m`, `-1h30m` or `+2s`
 * (relative to `now`). Throws InputError naming the accepted forms otherwise.
 */
export function parseTimeArg(s: string, now: bigint = nowNs()): bigint {
  const text = s.trim();
  if (text === 'now') return now;
  if (/^\d+$/.test(text)) return BigInt(text);
  const rel = relative.exec(text);
  if (rel) {
    let delta = 0n;
    for (const m of rel[2]!.matchAll(relativePart)) delta += BigInt(m[1]!) * unitNs[m[2]!]!;
    return rel[1] === '-' ? now - delta : now + delta;
  }
  const m = rfc3339.exec(text);
  if (m) {
    const [, y, mo, d, h, mi, sec, frac, zone] = m;
    const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(sec));
    if (
      Number.isNaN(ms) ||
      Number(mo) > 12 ||
      Number(d) > 31 ||
      Number(h) > 23 ||
      Number(mi) > 59 ||
      Number(sec) > 60
    ) {
      throw new InputError(`invalid time "${s}": out of range`, 'time');
    }
    let ns = BigInt(ms) * NS_PER_MS + BigInt((frac ?? '').padEnd(9, '0') || '0');
    if (zone && zone.toUpperCase() !== 'Z') {
      const sign = zone.startsWith('-') ? -1n : 1n;
      const digits = zone.slice(1).replace(':', '');
      const offsetMin = BigInt(Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4)));
      ns -= sign * offsetMin * 60n * NS_PER_S;
    }
    return ns;
  }
  throw new InputError(
    `invalid time "${s}": use RFC 3339 (2024-05-01T10:03:00.123456789Z), epoch nanoseconds, now, or a relative form like -15m`,
    'time',
  );
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

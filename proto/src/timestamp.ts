/**
 * @module google.protobuf.Timestamp ↔ RFC 3339 text and nanoseconds, exactly as protojson does it.
 *
 * Wire shape (ts-proto, useDate=false): `{ seconds: bigint, nanos: number }`, seconds since the Unix epoch
 * in UTC and 0 ≤ nanos < 1e9. Text shape: `YYYY-MM-DDTHH:MM:SS[.fff|.ffffff|.fffffffff]Z` on output (the
 * shortest of 0, 3, 6 or 9 fractional digits that loses nothing), and any offset and 1 to 9 digits on
 * input. Valid range: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z. Integer arithmetic only, so
 * no precision is lost and the proleptic Gregorian calendar holds for every year.
 */
import type { Timestamp } from '../gen/google/protobuf/timestamp.js';

const MIN_SECONDS = -62_135_596_800n; // 0001-01-01T00:00:00Z
const MAX_SECONDS = 253_402_300_799n; // 9999-12-31T23:59:59Z
const NANOS_PER_SECOND = 1_000_000_000n;

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

/** The proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's civil_from_days). */
function civilFromDays(days: number): [number, number, number] {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return [yoe + era * 400 + (month <= 2 ? 1 : 0), month, day];
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** Returns why a Timestamp is out of protojson's range, or undefined when it is valid. */
export function timestampProblem(ts: Timestamp): string | undefined {
  if (typeof ts.seconds !== 'bigint') return `seconds must be a bigint, got ${typeof ts.seconds}`;
  if (!Number.isInteger(ts.nanos) || ts.nanos < 0 || ts.nanos >= 1e9)
    return `nanos ${ts.nanos} not in [0, 1e9)`;
  if (ts.seconds < MIN_SECONDS || ts.seconds > MAX_SECONDS) {
    return `seconds ${ts.seconds} outside 0001-01-01..9999-12-31`;
  }
  return undefined;
}

/**
 * Parses RFC 3339 text into a Timestamp; throws a RangeError saying what is wrong. Accepts 1 to 9
 * fractional digits and `Z` or a `±hh:mm` offset, like protojson.
 */
export function parseTimestamp(text: string): Timestamp {
  const m = RFC3339.exec(text);
  if (!m)
    throw new RangeError(`not an RFC 3339 timestamp (want YYYY-MM-DDTHH:MM:SS[.nnnnnnnnn]Z): "${text}"`);
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) {
    throw new RangeError(`no such date: "${text}"`);
  }
  if (hour > 23 || minute > 59 || second > 59) throw new RangeError(`no such time of day: "${text}"`);
  let offset = 0;
  if (m[8] === undefined) {
    const oh = Number(m[10]);
    const om = Number(m[11]);
    if (oh > 23 || om > 59) throw new RangeError(`bad UTC offset: "${text}"`);
    offset = (oh * 60 + om) * 60 * (m[9] === '-' ? -1 : 1);
  }
  const seconds =
    BigInt(daysFromCivil(year, month, day)) * 86_400n + BigInt(hour * 3600 + minute * 60 + second - offset);
  const nanos = m[7] === undefined ? 0 : Number(m[7].padEnd(9, '0'));
  const ts = { seconds, nanos };
  const problem = timestampProblem(ts);
  if (problem) throw new RangeError(`${problem}: "${text}"`);
  return ts;
}

/** Formats a Timestamp as protojson does: UTC, `Z`, and 0, 3, 6 or 9 fractional digits. */
export function formatTimestamp(ts: Timestamp): string {
  const problem = timestampProblem(ts);
  if (problem) throw new RangeError(`invalid Timestamp: ${problem}`);
  const secondsOfDay = Number(((ts.seconds % 86_400n) + 86_400n) % 86_400n);
  const days = Number((ts.seconds - BigInt(secondsOfDay)) / 86_400n);
  const [year, month, day] = civilFromDays(days);
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  const hh = Math.floor(secondsOfDay / 3600);
  const mm = Math.floor((secondsOfDay % 3600) / 60);
  const ss = secondsOfDay % 60;
  let frac = '';
  if (ts.nanos !== 0) {
    const digits = pad(ts.nanos, 9);
    frac =
      ts.nanos % 1_000_000 === 0 ? digits.slice(0, 3) : ts.nanos % 1000 === 0 ? digits.slice(0, 6) : digits;
    frac = `.${frac}`;
  }
  return `${pad(year, 4)}-${pad(month)}-${pad(day)}T${pad(hh)}:${pad(mm)}:${pad(ss)}${frac}Z`;
}

/** Nanoseconds since the Unix epoch: the exact value behind a ClickHouse DateTime64(9). */
export function timestampToNanos(ts: Timestamp): bigint {
  return ts.seconds * NANOS_PER_SECOND + BigInt(ts.nanos);
}

/** The Timestamp of a count of nanoseconds since the Unix epoch (negative counts allowed). */
export function timestampFromNanos(nanos: bigint): Timestamp {
  let seconds = nanos / NANOS_PER_SECOND;
  let rest = nanos % NANOS_PER_SECOND;
  if (rest < 0n) {
    seconds -= 1n;
    rest += NANOS_PER_SECOND;
  }
  return { seconds, nanos: Number(rest) };
}

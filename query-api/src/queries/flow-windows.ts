/**
 * Time windows for reading a time-ordered page of flows in two steps. `flows` is ordered by
 * (toStartOfHour(time), source_ip, time): a condition that is not on the source address (a tenant,
 * a verdict, a tenant principal's scope) reads every granule of every hour bucket the range
 * touches, although a page of the newest 100 flows usually lies in the newest minutes. So a page
 * sorted by time first reads the part of the range in its newest hour bucket (oldest, for
 * `order=oldest`), and only when that does not fill the page, the rest of the range. The windows
 * are disjoint and ordered, so the rows of the first all sort before those of the second, and the
 * two give exactly the page one statement over the whole range would give. A full page then costs
 * the granules of one hour bucket; any other answer one statement more than before (never more:
 * a long range with few matches must not turn into many statements).
 *
 * A page whose filters are key lookups (an address: keyedTimeWindows) reads only its keys' granules,
 * so a window saves the keys of the rest of the range, and when the first window does not fill the
 * page it costs one statement's fixed work (50–90 ms at 100M flows). Such a page is split only when
 * the first window holds at least half of the range. Measured at 100M flows (`bench --scale`): a
 * pod at either end over the last hour (34 minutes of it in the newest bucket) 158–208 ms instead
 * of 201–264; a world address at either end over 24 h, never split, would take 298–356 instead of
 * 224–290.
 * @module
 */

const HOUR_NS = 3_600_000_000_000n;

/** A half-open time window (Unix ns): since inclusive, until exclusive. */
export interface TimeWindow {
  sinceNs: bigint;
  untilNs: bigint;
}

/** Start of the hour bucket holding instant `ns` (UTC hours are multiples of an hour since the epoch). */
export const hourOf = (ns: bigint): bigint => ns - (((ns % HOUR_NS) + HOUR_NS) % HOUR_NS);

/**
 * The windows covering [sinceNs, untilNs), in reading order: for `newest`, the part of the range in
 * its last hour bucket, then the rest; for `oldest`, the part in its first hour bucket, then the
 * rest. One window when the range lies in one bucket, none when it is empty.
 */
export function timeWindows(sinceNs: bigint, untilNs: bigint, order: 'newest' | 'oldest'): TimeWindow[] {
  if (untilNs <= sinceNs) return [];
  if (order === 'newest') {
    const cut = hourOf(untilNs - 1n);
    return cut > sinceNs
      ? [
          { sinceNs: cut, untilNs },
          { sinceNs, untilNs: cut },
        ]
      : [{ sinceNs, untilNs }];
  }
  const cut = hourOf(sinceNs) + HOUR_NS;
  return cut < untilNs
    ? [
        { sinceNs, untilNs: cut },
        { sinceNs: cut, untilNs },
      ]
    : [{ sinceNs, untilNs }];
}

/**
 * timeWindows for a page of key lookups (an address): split only when the first window holds at
 * least half of the range, else the whole range in one window (see the module doc).
 */
export function keyedTimeWindows(sinceNs: bigint, untilNs: bigint, order: 'newest' | 'oldest'): TimeWindow[] {
  const windows = timeWindows(sinceNs, untilNs, order);
  const first = windows[0];
  if (windows.length < 2 || !first) return windows;
  return 2n * (first.untilNs - first.sinceNs) >= untilNs - sinceNs ? windows : [{ sinceNs, untilNs }];
}

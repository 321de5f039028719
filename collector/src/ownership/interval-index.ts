/**
 * The in-memory ownership index for the ingest path: a hash map from address text to that
 * address's intervals sorted by start, so a lookup is one map probe plus a binary search
 * (O(log k) for k intervals of one address). Addresses are compared as the canonical text that
 * both Nomad and Hubble print (Go's net.IP String), so no address parsing happens per flow.
 *
 * Updates merge monotonically (start and end only move earlier, descriptive fields fill in),
 * so applying the same facts twice changes nothing, and `upsert` says whether anything changed.
 * @module
 */
import { intervalKey, type OwnerInterval } from './types.ts';

/** How many earlier intervals a lookup inspects when the latest-starting one has already ended. */
const OVERLAP_SCAN = 4;

/** A per-address interval index with monotone merging. */
export interface IntervalIndex {
  /** Merges `iv` into the index; returns the stored interval when it changed, else undefined. */
  upsert(iv: OwnerInterval): OwnerInterval | undefined;
  /** The interval containing `t` with the latest start, if any. */
  lookup(address: string, t: bigint): OwnerInterval | undefined;
  /** Every interval of an address, sorted by start. */
  intervalsOf(address: string): readonly OwnerInterval[];
  /** The interval with this identity, if any. */
  get(address: string, key: string): OwnerInterval | undefined;
  /** Number of intervals held. */
  readonly size: number;
  /** Every interval (for tests and stats). */
  all(): IterableIterator<OwnerInterval>;
}

/** Merges `next` into `cur` in place; returns true when something changed. */
export function mergeInterval(cur: OwnerInterval, next: OwnerInterval): boolean {
  let changed = false;
  if (next.start < cur.start) {
    cur.start = next.start;
    changed = true;
  }
  if (next.end < cur.end) {
    cur.end = next.end;
    changed = true;
  }
  if (next.nomadIndex > cur.nomadIndex) cur.nomadIndex = next.nomadIndex;
  for (const f of [
    'allocName',
    'namespace',
    'job',
    'group',
    'nodeId',
    'nodeName',
    'tenant',
    'account',
  ] as const) {
    if (next[f] && next[f] !== cur[f]) {
      cur[f] = next[f];
      changed = true;
    }
  }
  return changed;
}

/** Creates an empty index. */
export function createIntervalIndex(): IntervalIndex {
  const byAddress = new Map<string, OwnerInterval[]>();
  const byKey = new Map<string, OwnerInterval>();
  let size = 0;

  const resort = (list: OwnerInterval[]) =>
    list.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));

  return {
    upsert(iv) {
      const key = `${iv.address}#${intervalKey(iv)}`;
      const cur = byKey.get(key);
      if (cur) {
        const startBefore = cur.start;
        if (!mergeInterval(cur, iv)) return undefined;
        if (cur.start !== startBefore) resort(byAddress.get(iv.address)!);
        return cur;
      }
      const stored = { ...iv };
      byKey.set(key, stored);
      let list = byAddress.get(iv.address);
      if (!list) {
        list = [];
        byAddress.set(iv.address, list);
      }
      // Insert in start order (binary search for the position).
      let lo = 0;
      let hi = list.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (list[mid]!.start <= stored.start) lo = mid + 1;
        else hi = mid;
      }
      list.splice(lo, 0, stored);
      size++;
      return stored;
    },
    lookup(address, t) {
      const list = byAddress.get(address);
      if (list === undefined) return undefined;
      let lo = 0;
      let hi = list.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (list[mid]!.start <= t) lo = mid + 1;
        else hi = mid;
      }
      // lo - 1 is the latest interval starting at or before t.
      for (let i = lo - 1, n = 0; i >= 0 && n < OVERLAP_SCAN; i--, n++) {
        const iv = list[i]!;
        if (t < iv.end) return iv;
      }
      return undefined;
    },
    intervalsOf(address) {
      return byAddress.get(address) ?? [];
    },
    get(address, key) {
      return byKey.get(`${address}#${key}`);
    },
    get size() {
      return size;
    },
    all() {
      return byKey.values();
    },
  };
}

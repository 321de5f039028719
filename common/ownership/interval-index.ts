/**
 * The in-memory ownership index for the ingest path: a hash map from address text to that
 * address's intervals sorted by start, so a lookup is one map probe plus a binary search
 * (O(log k) for k intervals of one address). Addresses are compared as the canonical text that
 * both Nomad and Hubble print (Go's net.IP String), so no address parsing happens per flow.
 *
 * Each address keeps its intervals plus their start and end as float64 copies in contiguous
 * arrays: the binary search and the end check run on those (one cache line, no bigint heap
 * objects), and the exact bigint values are consulted only when the rounded values tie, which
 * keeps boundaries exact to the nanosecond (rounding is monotone, so order is never inverted).
 *
 * A lookup answers by the one owner rule (owner-rule.ts): intervals are kept in rank order, and
 * the scan walks back from the last one starting at or before t, stopping as soon as a prefix
 * maximum of ends shows no earlier interval can still contain t. One index holds one kind
 * (the tracker keeps allocations and node addresses apart), so rank order is start order.
 *
 * Updates merge monotonically (start and end only move earlier, descriptive fields fill in),
 * so applying the same facts twice changes nothing, and `upsert` says whether anything changed.
 * @module
 */
import { compareOwnerRank } from './owner-rule.ts';
import { intervalKey, type OwnerInterval } from './types.ts';

/** A per-address interval index with monotone merging. */
export interface IntervalIndex {
  /** Merges `iv` into the index; returns the stored interval when it changed, else undefined. */
  upsert(iv: OwnerInterval): OwnerInterval | undefined;
  /** The owner at `t` by the one owner rule (owner-rule.ts ownerAt), if any. */
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

interface AddressEntry {
  items: OwnerInterval[];
  starts: Float64Array;
  ends: Float64Array;
  /** maxEnds[i]: the largest end among items[0..i] (rounded), to stop the backward scan. */
  maxEnds: Float64Array;
}

function rebuild(e: AddressEntry): void {
  e.items.sort(compareOwnerRank);
  e.starts = new Float64Array(e.items.length);
  e.ends = new Float64Array(e.items.length);
  e.maxEnds = new Float64Array(e.items.length);
  for (let i = 0; i < e.items.length; i++) {
    e.starts[i] = Number(e.items[i]!.start);
    e.ends[i] = Number(e.items[i]!.end);
    e.maxEnds[i] = Math.max(e.ends[i]!, i > 0 ? e.maxEnds[i - 1]! : 0);
  }
}

/** Creates an empty index. */
export function createIntervalIndex(): IntervalIndex {
  const byAddress = new Map<string, AddressEntry>();
  const byKey = new Map<string, OwnerInterval>();
  let size = 0;

  return {
    upsert(iv) {
      const key = `${iv.address}#${intervalKey(iv)}`;
      const cur = byKey.get(key);
      if (cur) {
        if (!mergeInterval(cur, iv)) return undefined;
        rebuild(byAddress.get(iv.address)!);
        return cur;
      }
      const stored = { ...iv };
      byKey.set(key, stored);
      let entry = byAddress.get(iv.address);
      if (!entry) {
        entry = {
          items: [],
          starts: new Float64Array(0),
          ends: new Float64Array(0),
          maxEnds: new Float64Array(0),
        };
        byAddress.set(iv.address, entry);
      }
      entry.items.push(stored);
      rebuild(entry);
      size++;
      return stored;
    },
    lookup(address, t) {
      const e = byAddress.get(address);
      if (e === undefined) return undefined;
      const starts = e.starts;
      const ta = Number(t);
      let lo = 0;
      let hi = starts.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (starts[mid]! <= ta) lo = mid + 1;
        else hi = mid;
      }
      // lo - 1 is the highest-ranked interval whose (rounded) start is at or before t; walk
      // back in rank order until no earlier interval can still be open at t (rounding is
      // monotone, so a rounded max end below t means every exact end is below t).
      for (let i = lo - 1; i >= 0 && e.maxEnds[i]! >= ta; i--) {
        if (starts[i] === ta && e.items[i]!.start > t) continue;
        const end = e.ends[i]!;
        if (ta < end || (ta === end && t < e.items[i]!.end)) return e.items[i];
      }
      return undefined;
    },
    intervalsOf(address) {
      return byAddress.get(address)?.items ?? [];
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

/**
 * A bounded window of the most recent flow ids (16 bytes each), with constant-time membership:
 * the in-memory half of deduplication. ClickHouse's insert deduplication skips a batch that was
 * already stored (same token); this window skips single flows seen again shortly after — a
 * source's resume overlap, a collector resending its ring, a Kafka replay inside one process,
 * and repeats inside one batch. Its cost is fixed by its capacity, never by the table.
 *
 * Layout: ids in a ring of `capacity` slots (oldest evicted first) and an open-addressing table of
 * slot numbers (linear probing, backward-shift deletion), so it allocates nothing per flow.
 * Memory: 17 bytes per slot plus 8 bytes per slot of table (load ≤ 0.5).
 *
 * Each add has a sequence number (`added`): a batch that notes the numbers of its adds (a run per
 * message it read) can take exactly those ids out again when it is dropped unstored (`forgetAdded`),
 * so the window keeps recognising the flows already stored. The ring itself says which of them are
 * still held: add n sits in slot n mod capacity until add n + capacity overwrites it.
 * @module
 */

/** The window. */
export class RecentIds {
  readonly capacity: number;
  private readonly ids: Uint8Array;
  /** slot + 1, or 0 for empty. */
  private readonly table: Int32Array;
  private readonly mask: number;
  /** 1 where a ring slot holds an id still in the table (a forgotten id leaves a hole in the ring). */
  private readonly live: Uint8Array;
  /** Ids added so far: the sequence number of the next add, whose slot is `added % capacity`. */
  private count = 0;
  private size = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('RecentIds: capacity must be ≥ 1');
    this.capacity = capacity;
    this.ids = new Uint8Array(capacity * 16);
    this.live = new Uint8Array(capacity);
    let n = 16;
    while (n < capacity * 2) n *= 2;
    this.table = new Int32Array(n);
    this.mask = n - 1;
  }

  /** Ids held now (≤ capacity). */
  get length(): number {
    return this.size;
  }

  /** Ids added so far (repeats not counted): the sequence number the next add gets. */
  get added(): number {
    return this.count;
  }

  /** True if `id` is in the window. */
  has(id: Uint8Array): boolean {
    return this.find(id) >= 0;
  }

  /** Adds `id` unless present; returns false when it was already there (a repeat). */
  add(id: Uint8Array): boolean {
    if (this.find(id) >= 0) return false;
    const slot = this.count % this.capacity;
    if (this.live[slot]) this.removeAt(this.indexOfSlot(slot));
    else this.size++;
    // Byte by byte: a subarray view per flow was a tenth of the ingest path's garbage.
    const ids = this.ids;
    const o = slot * 16;
    for (let k = 0; k < 16; k++) ids[o + k] = id[k]!;
    let i = hash(id, 0) & this.mask;
    while (this.table[i] !== 0) i = (i + 1) & this.mask;
    this.table[i] = slot + 1;
    this.live[slot] = 1;
    this.count++;
    return true;
  }

  /**
   * Takes out the ids of adds `from` (inclusive) to `to` (exclusive) that are still held: a batch
   * dropped unstored, whose flows must not look like repeats when they are read again.
   */
  forgetAdded(from: number, to: number): void {
    // Adds older than the last `capacity` were overwritten by newer ones (evicted).
    for (let n = Math.max(from, this.count - this.capacity); n < to; n++) {
      const slot = n % this.capacity;
      if (!this.live[slot]) continue; // forgotten already
      this.removeAt(this.indexOfSlot(slot));
      this.live[slot] = 0;
      this.size--;
    }
  }

  /** Forgets everything. */
  clear(): void {
    this.table.fill(0);
    this.live.fill(0);
    this.size = 0;
  }

  /** Table index holding `id`, or -1. */
  private find(id: Uint8Array): number {
    const t = this.table;
    let i = hash(id, 0) & this.mask;
    for (let e = t[i]!; e !== 0; e = t[i]!) {
      if (this.equals(e - 1, id)) return i;
      i = (i + 1) & this.mask;
    }
    return -1;
  }

  private equals(slot: number, id: Uint8Array): boolean {
    const ids = this.ids;
    const o = slot * 16;
    for (let k = 0; k < 16; k++) if (ids[o + k] !== id[k]) return false;
    return true;
  }

  /** Table index of the live ring `slot`. */
  private indexOfSlot(slot: number): number {
    const t = this.table;
    let i = hash(this.ids, slot * 16) & this.mask;
    while (t[i] !== slot + 1) i = (i + 1) & this.mask;
    return i;
  }

  /** Empties table index `i` (backward-shift deletion). */
  private removeAt(i: number): void {
    const t = this.table;
    const mask = this.mask;
    // Shift later members of the probe run back so every lookup still finds them.
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const e = t[j]!;
      if (e === 0) break;
      const home = hash(this.ids, (e - 1) * 16) & mask;
      // Move e into the hole at i unless its home lies cyclically in (i, j].
      if (i <= j ? home <= i || home > j : home <= i && home > j) {
        t[i] = e;
        i = j;
      }
    }
    t[i] = 0;
  }
}

/** Mixes all 16 bytes (ids are uuids or digests, but uuid versions keep some bytes fixed). */
function hash(b: Uint8Array, o: number): number {
  let h = 0x9e3779b9;
  for (let k = 0; k < 16; k += 4) {
    const w = b[o + k]! | (b[o + k + 1]! << 8) | (b[o + k + 2]! << 16) | (b[o + k + 3]! << 24);
    h = Math.imul(h ^ w, 0x85ebca6b);
    h ^= h >>> 13;
  }
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

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
 * A batch that keeps the ids it added (`IdLog`) can take them out again when it is dropped unstored,
 * so the window forgets exactly those flows and keeps recognising the ones already stored.
 * @module
 */

/** The window. */
export class RecentIds {
  readonly capacity: number;
  private readonly ids: Uint8Array;
  /** slot + 1, or 0 for empty. */
  private readonly table: Int32Array;
  private readonly mask: number;
  /** 1 where a ring slot holds an id still in the table (a deleted id leaves a hole in the ring). */
  private readonly live: Uint8Array;
  /** Next ring slot to fill: the oldest one, once the ring has gone round. */
  private next = 0;
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

  /** True if `id` is in the window. */
  has(id: Uint8Array): boolean {
    return this.find(id, 0) >= 0;
  }

  /** Adds `id` unless present; returns false when it was already there (a repeat). */
  add(id: Uint8Array): boolean {
    if (this.find(id, 0) >= 0) return false;
    const slot = this.next;
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
    this.next = slot + 1 === this.capacity ? 0 : slot + 1;
    return true;
  }

  /**
   * Takes the ids of `log` out of the window (those still in it): a batch dropped unstored, whose
   * flows must not look like repeats when they are read again.
   */
  deleteAll(log: IdLog): void {
    log.forEachId((bytes, o) => {
      const i = this.find(bytes, o);
      if (i < 0) return; // evicted since
      this.live[this.table[i]! - 1] = 0;
      this.removeAt(i);
      this.size--;
    });
  }

  /** Forgets everything. */
  clear(): void {
    this.table.fill(0);
    this.live.fill(0);
    this.next = 0;
    this.size = 0;
  }

  /** Table index holding the id at `bytes[o..o+16]`, or -1. */
  private find(bytes: Uint8Array, o: number): number {
    const t = this.table;
    let i = hash(bytes, o) & this.mask;
    for (let e = t[i]!; e !== 0; e = t[i]!) {
      if (this.equals(e - 1, bytes, o)) return i;
      i = (i + 1) & this.mask;
    }
    return -1;
  }

  private equals(slot: number, bytes: Uint8Array, at: number): boolean {
    const ids = this.ids;
    const o = slot * 16;
    for (let k = 0; k < 16; k++) if (ids[o + k] !== bytes[at + k]) return false;
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

/** Ids per block of an IdLog (16 KiB). */
const logBlock = 1024;

/** The ids one batch added to a window, in blocks: 16 bytes per flow, no object per flow. */
export class IdLog {
  private blocks: Uint8Array[] = [];
  private n = 0;

  get length(): number {
    return this.n;
  }

  push(id: Uint8Array): void {
    const at = this.n % logBlock;
    if (at === 0) this.blocks.push(new Uint8Array(logBlock * 16));
    const b = this.blocks[this.blocks.length - 1]!;
    const o = at * 16;
    for (let k = 0; k < 16; k++) b[o + k] = id[k]!;
    this.n++;
  }

  /** Calls `fn` with each id as 16 bytes of `bytes` from offset `o`. */
  forEachId(fn: (bytes: Uint8Array, o: number) => void): void {
    for (let i = 0; i < this.n; i++) fn(this.blocks[Math.floor(i / logBlock)]!, (i % logBlock) * 16);
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

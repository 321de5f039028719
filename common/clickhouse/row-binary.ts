/**
 * A growable RowBinary encoder: the bulk insert path writes flows column by column into one
 * Buffer instead of building a JSON string per row (DESIGN.md: JSON rows cap chdb near 50k/s).
 *
 * RowBinary shapes used here: integers little-endian; String = LEB128 length + bytes;
 * FixedString(N) = N bytes; IPv6 = 16 bytes in network order; DateTime64(9) = Int64 ns;
 * Enum8 = Int8; Bool = UInt8; Array(T) = LEB128 count + items; LowCardinality(T) = T.
 * @module
 */

/** One 64-bit value as bytes (little-endian on every platform Node runs on that we support). */
const scratch64 = new BigInt64Array(1);
const scratchBytes = new Uint8Array(scratch64.buffer);
if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new Error('RowBinaryWriter: big-endian host');

/**
 * Writes `v` (modulo 2^64) as 8 little-endian bytes at `at`. Why not Buffer#writeBigInt64LE: on
 * Node 20 it is JavaScript that splits the value with BigInt shifts and masks, ~200 B of BigInts
 * per call, the largest source of garbage on the ingest path (heap sampling, 2026-12-02); a store
 * into a BigInt64Array allocates nothing.
 */
export function putInt64LE(buf: Uint8Array, at: number, v: bigint): void {
  scratch64[0] = v;
  for (let i = 0; i < 8; i++) buf[at + i] = scratchBytes[i]!;
}

/** The signed 64-bit little-endian value at `at` (one BigInt, no arithmetic on it). */
export function getInt64LE(buf: Uint8Array, at: number): bigint {
  for (let i = 0; i < 8; i++) scratchBytes[i] = buf[at + i]!;
  return scratch64[0]!;
}

/** Encodes rows into a reusable, growing buffer. */
export class RowBinaryWriter {
  private buf: Buffer;
  private pos = 0;

  constructor(initialBytes = 1 << 20) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.pos;
  }

  /** Forgets what was written, keeping the memory. */
  reset(): void {
    this.pos = 0;
  }

  /** A copy of the encoded bytes (the writer can be reused afterwards). */
  take(): Buffer {
    const out = Buffer.allocUnsafe(this.pos);
    this.buf.copy(out, 0, 0, this.pos);
    this.pos = 0;
    return out;
  }

  /**
   * The encoded bytes without a copy (a batch of 100,000 rows is tens of MB): the writer goes on in
   * `next` — a buffer handed back by the caller once it is done with an earlier batch (no allocation,
   * no fresh pages), or a fresh one of that many bytes (default: as large as this one, so a writer
   * sealing batches of one size stops growing after the first).
   */
  detach(next: Buffer | number = this.buf.length): Buffer {
    const out = this.buf.subarray(0, this.pos);
    this.buf = typeof next === 'number' ? Buffer.allocUnsafe(next) : next;
    this.pos = 0;
    return out;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = Math.max(this.buf.length * 2, 4096);
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  uint8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v & 0xff;
  }

  int8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v; // a byte store wraps: -1 is 0xff
  }

  bool(v: boolean): void {
    this.uint8(v ? 1 : 0);
  }

  // Integers as byte stores (each wraps modulo 256), not Buffer#writeUInt32LE and the like: on Node 20
  // those are JavaScript that checks the value's range and the offset on every call, ~5% of the main
  // thread's time in the end-to-end run (CPU profile, 2026-12-03), and a flow row holds ~30 of them.
  uint16(v: number): void {
    this.ensure(2);
    const b = this.buf;
    const p = this.pos;
    b[p] = v;
    b[p + 1] = v >>> 8;
    this.pos = p + 2;
  }

  uint32(v: number): void {
    this.ensure(4);
    const b = this.buf;
    const p = this.pos;
    b[p] = v;
    b[p + 1] = v >>> 8;
    b[p + 2] = v >>> 16;
    b[p + 3] = v >>> 24;
    this.pos = p + 4;
  }

  int32(v: number): void {
    this.uint32(v); // the same 4 bytes: both wrap modulo 2^32
  }

  uint64(v: bigint): void {
    this.int64(v); // the same 8 bytes: both wrap modulo 2^64
  }

  int64(v: bigint): void {
    this.ensure(8);
    putInt64LE(this.buf, this.pos, v);
    this.pos += 8;
  }

  /** DateTime64(9): nanoseconds since the epoch. */
  dateTime64ns(ns: bigint): void {
    this.int64(ns);
  }

  /** An unsigned LEB128: the length of a String or the item count of an Array written piecewise. */
  varUInt(n: number): void {
    this.ensure(5);
    while (n >= 0x80) {
      this.buf[this.pos++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    this.buf[this.pos++] = n;
  }

  string(s: string): void {
    const len = s.length;
    if (len === 0) {
      this.uint8(0);
      return;
    }
    // Short ASCII strings (most labels, names, enum names) are copied char by char: far cheaper
    // than Buffer#write for a few dozen bytes.
    if (len < 128) {
      this.ensure(len + 1);
      const buf = this.buf;
      const start = this.pos;
      buf[start] = len;
      let i = 0;
      for (; i < len; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        buf[start + 1 + i] = c;
      }
      if (i === len) {
        this.pos = start + 1 + len;
        return;
      }
    }
    // Worst case 3 bytes per UTF-16 unit; write first, then the length prefix in front.
    const max = len * 3;
    this.ensure(max + 5);
    const lenPos = this.pos;
    const n = this.buf.write(s, lenPos + 5, max, 'utf8');
    const prefix = n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : 4;
    this.buf.copyWithin(lenPos + prefix, lenPos + 5, lenPos + 5 + n);
    this.varUInt(n);
    this.pos = lenPos + prefix + n;
  }

  bytes(b: Uint8Array): void {
    this.varUInt(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** FixedString(N) from exactly N bytes. */
  fixed(b: Uint8Array, n: number): void {
    this.ensure(n);
    // Byte by byte (ids and addresses are 16 bytes): no fill call, no subarray view per column.
    const buf = this.buf;
    const p = this.pos;
    const m = Math.min(n, b.length);
    for (let i = 0; i < m; i++) buf[p + i] = b[i]!;
    for (let i = m; i < n; i++) buf[p + i] = 0;
    this.pos = p + n;
  }

  /** IPv6 column from 16 bytes. */
  ipv6Bytes(b: Uint8Array): void {
    this.fixed(b, 16);
  }

  /** Bytes as they are (the body of a String whose length was written with `varUInt`). */
  raw(src: Uint8Array, start: number, end: number): void {
    const n = end - start;
    this.ensure(n);
    const buf = this.buf;
    let p = this.pos;
    // Short fields (most of a flow's) byte by byte: no subarray view to allocate.
    if (n < 64) for (let i = start; i < end; i++) buf[p++] = src[i]!;
    else {
      buf.set(src.subarray(start, end), p);
      p += n;
    }
    this.pos = p;
  }

  /** A String column straight from UTF-8 bytes (a protobuf string field's body). */
  utf8(src: Uint8Array, start: number, end: number): void {
    this.varUInt(end - start);
    this.raw(src, start, end);
  }

  stringArray(items: readonly string[]): void {
    this.varUInt(items.length);
    for (const s of items) this.string(s);
  }
}

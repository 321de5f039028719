/**
 * Per-flow address classification without ip-num (13 µs per check, far over budget): CIDRs are
 * parsed once with ip-num at config time into numeric ranges, and each flow's address text is
 * parsed by hand into a uint32 (IPv4) or four uint32 words (IPv6) in a reused buffer, then
 * compared against the ranges. IPv4-mapped IPv6 (`::ffff:a.b.c.d`) is classified as IPv4.
 * @module
 */
import { IPv4CidrRange, IPv6CidrRange } from 'ip-num';
import { ConfigError } from '../../../common/errors.ts';

/** An address family range in numeric form. */
interface Ranges {
  /** IPv4 [first, last] pairs as unsigned 32-bit numbers. */
  v4: number[];
  /** IPv6 ranges as 8 uint32 words each: first (4 words) then last (4 words). */
  v6: Uint32Array;
}

/** A set of CIDRs that answers "does this address fall in one of them" quickly. */
export interface CidrSet {
  contains(address: string): boolean;
  /** Index of the first CIDR containing the address, or -1. */
  indexOf(address: string): number;
  /** Index of the first CIDR containing an address already parsed by parseAddress, or -1. */
  indexOfParsed(parsed: ParsedAddress): number;
  readonly size: number;
}

/** An address parsed once per flow end: IPv4 as a number, IPv6 as four words, or invalid. */
export interface ParsedAddress {
  /** 4, 6, or 0 when the text is not an address. */
  family: 0 | 4 | 6;
  v4: number;
  v6: Uint32Array;
}

/** A reusable parse target (one per caller; the hot path allocates nothing). */
export function createParsedAddress(): ParsedAddress {
  return { family: 0, v4: 0, v6: new Uint32Array(4) };
}

/** Parses address text into `out`; IPv4-mapped IPv6 becomes family 4. */
export function parseAddress(address: string, out: ParsedAddress): ParsedAddress {
  if (address.indexOf(':') < 0) {
    const a = parseV4(address);
    out.family = a < 0 ? 0 : 4;
    out.v4 = a;
    return out;
  }
  if (!parseV6(address, out.v6)) {
    out.family = 0;
    return out;
  }
  const w = out.v6;
  if (w[0] === 0 && w[1] === 0 && w[2] === 0xffff) {
    out.family = 4;
    out.v4 = w[3]!;
  } else out.family = 6;
  return out;
}

const groups = new Uint16Array(8);

/** Parses dotted-quad IPv4 into an unsigned 32-bit number, or -1. */
export function parseV4(s: string, from = 0): number {
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = from; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || ++dots > 3) return -1;
      value = value * 256 + part;
      part = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      part = part * 10 + (c - 48);
      if (++digits > 3 || part > 255) return -1;
    } else return -1;
  }
  if (dots !== 3 || digits === 0) return -1;
  return value * 256 + part;
}

/** Parses IPv6 text into `out` (four big-endian uint32 words); returns false when invalid. */
export function parseV6(s: string, out: Uint32Array): boolean {
  let n = 0;
  let gap = -1;
  let i = 0;
  const len = s.length;
  if (len < 2) return false;
  if (s.charCodeAt(0) === 58) {
    if (s.charCodeAt(1) !== 58) return false;
    gap = 0;
    i = 2;
  }
  while (i < len) {
    if (n >= 8) return false;
    let v = 0;
    let digits = 0;
    const start = i;
    for (; i < len; i++) {
      const c = s.charCodeAt(i);
      let d: number;
      if (c >= 48 && c <= 57) d = c - 48;
      else if (c >= 97 && c <= 102) d = c - 87;
      else if (c >= 65 && c <= 70) d = c - 55;
      else break;
      v = v * 16 + d;
      if (++digits > 4) return false;
    }
    if (i < len && s.charCodeAt(i) === 46) {
      // Embedded IPv4 in the last 32 bits.
      const v4 = parseV4(s.slice(start));
      if (v4 < 0 || n > 6) return false;
      groups[n++] = v4 >>> 16;
      groups[n++] = v4 & 0xffff;
      i = len;
      break;
    }
    if (digits === 0) return false;
    groups[n++] = v;
    if (i === len) break;
    if (s.charCodeAt(i) === 37) break; // %zone
    if (s.charCodeAt(i) !== 58) return false;
    i++;
    if (i < len && s.charCodeAt(i) === 58) {
      if (gap >= 0) return false;
      gap = n;
      i++;
    } else if (i === len) return false;
  }
  if (gap < 0 && n !== 8) return false;
  if (gap >= 0 && n > 7) return false;
  const shift = 8 - n;
  for (let k = 0; k < 4; k++) {
    const gi = 2 * k;
    const a = gap >= 0 && gi >= gap ? (gi - shift >= gap ? groups[gi - shift]! : 0) : groups[gi]!;
    const b =
      gap >= 0 && gi + 1 >= gap ? (gi + 1 - shift >= gap ? groups[gi + 1 - shift]! : 0) : groups[gi + 1]!;
    out[k] = ((a << 16) | b) >>> 0;
  }
  return true;
}

function cmp(a: Uint32Array, b: Uint32Array, off: number): number {
  for (let k = 0; k < 4; k++) {
    const x = a[k]!;
    const y = b[off + k]!;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

function words(v: bigint, out: Uint32Array, off: number): void {
  for (let k = 3; k >= 0; k--) {
    out[off + k] = Number(v & 0xffffffffn);
    v >>= 32n;
  }
}

/** Parses CIDRs with ip-num (config time) into a CidrSet; throws ConfigError on a bad CIDR. */
export function createCidrSet(cidrs: readonly string[]): CidrSet {
  const r: Ranges = { v4: [], v6: new Uint32Array(0) };
  const v6: bigint[] = [];
  const order: number[] = [];
  const v6order: number[] = [];
  cidrs.forEach((c, idx) => {
    try {
      if (c.includes(':')) {
        const range = IPv6CidrRange.fromCidr(c);
        v6.push(range.getFirst().getValue(), range.getLast().getValue());
        v6order.push(idx);
      } else {
        const range = IPv4CidrRange.fromCidr(c);
        r.v4.push(Number(range.getFirst().getValue()), Number(range.getLast().getValue()));
        order.push(idx);
      }
    } catch (cause) {
      throw new ConfigError(
        `invalid CIDR "${c}": ${cause instanceof Error ? cause.message : String(cause)}`,
        { cause },
      );
    }
  });
  r.v6 = new Uint32Array(v6.length * 4);
  for (let i = 0; i < v6.length; i++) words(v6[i]!, r.v6, i * 4);
  const own = createParsedAddress();
  const indexOfParsed = (p: ParsedAddress): number => {
    if (p.family === 4) return v4Index(p.v4);
    if (p.family !== 6) return -1;
    for (let i = 0; i < v6order.length; i++) {
      if (cmp(p.v6, r.v6, i * 8) >= 0 && cmp(p.v6, r.v6, i * 8 + 4) <= 0) return v6order[i]!;
    }
    return -1;
  };
  const indexOf = (address: string): number => indexOfParsed(parseAddress(address, own));
  const v4Index = (a: number): number => {
    for (let i = 0; i < order.length; i++) {
      if (a >= r.v4[2 * i]! && a <= r.v4[2 * i + 1]!) return order[i]!;
    }
    return -1;
  };
  return {
    contains: (address) => indexOf(address) >= 0,
    indexOf,
    indexOfParsed,
    size: cidrs.length,
  };
}

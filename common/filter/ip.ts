/**
 * @module Address filters (`source_ip`, `destination_ip`, `source_ip_xlated`): each value is an address
 * or a CIDR prefix, parsed once into 16 bytes (IPv4 as ::ffff:a.b.c.d) and a prefix length, which gives
 * both the in-memory test (leading bits) and the SQL range (lowest and highest address, as stored).
 */
import { formatIpBytes, isV4Mapped, parseIpBytes } from '../net/ip.ts';
import { FlowFilterError } from './errors.ts';

/** One parsed address or CIDR. */
export interface IpPrefix {
  readonly bytes: Uint8Array;
  /** Prefix length in bits over the 16-byte form (128 for a single address). */
  readonly bits: number;
  /** Lowest and highest address covered, as IPv6 text ClickHouse parses into an IPv6 column. */
  readonly lo: string;
  readonly hi: string;
}

// ClickHouse parses '::ffff:1.2.3.4' into an IPv6 value; formatIpBytes prints a bare IPv4.
function formatV6(b: Uint8Array): string {
  const text = formatIpBytes(b);
  return text.includes(':') ? text : `::ffff:${text}`;
}

/** Parses `10.0.0.1`, `10.0.0.0/8` or `2001:db8::/32`; undefined when it is neither. */
export function parseIpPrefix(text: string): IpPrefix | undefined {
  const slash = text.indexOf('/');
  const addr = slash >= 0 ? text.slice(0, slash) : text;
  const bytes = parseIpBytes(addr);
  if (!bytes) return undefined;
  const v4 = isV4Mapped(bytes) && !addr.includes(':');
  const max = v4 ? 32 : 128;
  let len = max;
  if (slash >= 0) {
    const lenText = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(lenText) || Number(lenText) > max) return undefined;
    len = Number(lenText);
  }
  const bits = (v4 ? 96 : 0) + len;
  const lo = new Uint8Array(bytes);
  const hi = new Uint8Array(bytes);
  for (let bit = bits; bit < 128; bit++) {
    const i = bit >> 3;
    const mask = 0x80 >> (bit & 7);
    lo[i] = lo[i]! & ~mask;
    hi[i] = hi[i]! | mask;
  }
  return { bytes: lo, bits, lo: formatV6(lo), hi: formatV6(hi) };
}

/** Parses every value of an address filter; a bad one is a FlowFilterError naming `field`. */
export function parseIpPrefixes(field: string, values: readonly string[]): IpPrefix[] {
  return values.map((v) => {
    const p = parseIpPrefix(v.trim());
    if (!p)
      throw new FlowFilterError(field, `expected an IPv4/IPv6 address or CIDR, got "${v.slice(0, 80)}"`);
    return p;
  });
}

function inPrefix(addr: Uint8Array, p: IpPrefix): boolean {
  const full = p.bits >>> 3;
  for (let i = 0; i < full; i++) if (addr[i] !== p.bytes[i]) return false;
  const rest = p.bits & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return ((addr[full] ?? 0) & mask) === ((p.bytes[full] ?? 0) & mask);
}

/** A predicate over an address string (empty never matches) from parsed prefixes. */
export function ipMatcher(prefixes: readonly IpPrefix[]): (ip: string) => boolean {
  const exact = new Set<string>();
  const ranges: IpPrefix[] = [];
  for (const p of prefixes) {
    if (p.bits === 128) exact.add(formatIpBytes(p.bytes));
    else ranges.push(p);
  }
  const scratch = new Uint8Array(16);
  return (ip) => {
    if (ip === '') return false;
    if (exact.has(ip)) return true;
    if (ranges.length === 0 && !ip.includes(':')) return false;
    const b = parseIpBytes(ip, scratch);
    if (!b) return false;
    // Non-canonical IPv6 text in a flow: compare canonically.
    if (exact.size > 0 && ip.includes(':') && exact.has(formatIpBytes(b))) return true;
    for (const p of ranges) if (inPrefix(b, p)) return true;
    return false;
  };
}

/** Compiles address/CIDR values into a predicate over an address string (empty never matches). */
export function compileIpMatcher(field: string, values: readonly string[]): (ip: string) => boolean {
  return ipMatcher(parseIpPrefixes(field, values));
}

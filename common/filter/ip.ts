/**
 * @module Address filters (`source_ip`, `destination_ip`, `source_ip_xlated`): each value is an address
 * or a CIDR prefix. Exact addresses compare as canonical text (no parse per flow); prefixes parse the
 * flow's address once into 16 bytes (IPv4 as ::ffff:a.b.c.d) and compare the leading bits.
 */
import { formatIpBytes, isV4Mapped, parseIpBytes } from '../net/ip.ts';
import { FlowFilterError } from './errors.ts';

interface Prefix {
  readonly bytes: Uint8Array;
  /** Prefix length in bits over the 16-byte form. */
  readonly bits: number;
}

function inPrefix(addr: Uint8Array, p: Prefix): boolean {
  const full = p.bits >>> 3;
  for (let i = 0; i < full; i++) if (addr[i] !== p.bytes[i]) return false;
  const rest = p.bits & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return ((addr[full] ?? 0) & mask) === ((p.bytes[full] ?? 0) & mask);
}

/** Compiles address/CIDR values into a predicate over an address string (empty never matches). */
export function compileIpMatcher(field: string, values: readonly string[]): (ip: string) => boolean {
  const exact = new Set<string>();
  const prefixes: Prefix[] = [];
  for (const v of values) {
    const slash = v.indexOf('/');
    if (slash < 0) {
      const b = parseIpBytes(v);
      if (!b) throw new FlowFilterError(field, `invalid IP address "${v}"`);
      exact.add(formatIpBytes(b));
      continue;
    }
    const b = parseIpBytes(v.slice(0, slash));
    const lenText = v.slice(slash + 1);
    const len = /^\d{1,3}$/.test(lenText) ? Number(lenText) : Number.NaN;
    if (!b) throw new FlowFilterError(field, `invalid CIDR "${v}"`);
    const v4 = isV4Mapped(b) && !v.slice(0, slash).includes(':');
    const max = v4 ? 32 : 128;
    if (!(len >= 0 && len <= max)) throw new FlowFilterError(field, `invalid prefix length in "${v}"`);
    prefixes.push({ bytes: b, bits: v4 ? 96 + len : len });
  }
  const scratch = new Uint8Array(16);
  return (ip) => {
    if (ip === '') return false;
    if (exact.has(ip)) return true;
    if (prefixes.length === 0) {
      if (!ip.includes(':')) return false;
      // Non-canonical IPv6 text in a flow: compare canonically.
      const b = parseIpBytes(ip, scratch);
      return b !== undefined && exact.has(formatIpBytes(b));
    }
    const b = parseIpBytes(ip, scratch);
    if (!b) return false;
    if (exact.size > 0 && ip.includes(':') && exact.has(formatIpBytes(b))) return true;
    for (const p of prefixes) if (inPrefix(b, p)) return true;
    return false;
  };
}

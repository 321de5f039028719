/**
 * Fast address parsing for the per-flow path (ip-num is for config-time CIDR parsing only).
 * Every address becomes 16 bytes in network order; IPv4 is IPv4-mapped (::ffff:a.b.c.d),
 * which is how ClickHouse IPv6 columns hold both families.
 * @module
 */

/** 16 zero bytes: the unspecified address `::`, stored for "no address". */
export const ZERO_IP = new Uint8Array(16);

/** Parses an IPv4 or IPv6 textual address into 16 bytes, or returns undefined when invalid. */
export function parseIpBytes(s: string, out: Uint8Array = new Uint8Array(16)): Uint8Array | undefined {
  if (s.length === 0) return undefined;
  return s.includes(':') ? parseV6(s, out) : parseV4(s, out) ? out : undefined;
}

/** A dotted quad's text as bytes for `dottedQuadAt` (at most 15 characters: 4 × 3 digits and 3 dots). */
const v4Text = new Uint8Array(15);

function parseV4(s: string, out: Uint8Array): boolean {
  if (s.length > v4Text.length) return false;
  // Any character other than a digit or a dot fails the rule; 0 stands for those outside ASCII.
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    v4Text[i] = c < 0x80 ? c : 0;
  }
  return dottedQuadAt(v4Text, 0, s.length, out) !== 0;
}

/**
 * The one rule for IPv4 text, read from bytes (ASCII) at `start..end`: four decimal parts of 1–3
 * digits, each ≤ 255, separated by dots. Parsed into `out` as IPv4-mapped (::ffff:a.b.c.d).
 * Returns 0 when the bytes are not such a quad (`out` then holds partial bytes), 1 when they are
 * and are the canonical text of the address (`formatIpBytes` gives them back), 2 when they are
 * with a leading zero in some part ("010.1.1.1" is 10.1.1.1, but not its text).
 *
 * Bytes rather than a string: the ingest path reads addresses straight from a Flow's protobuf
 * bytes, two or three per flow, and a string per address was garbage per flow.
 */
export function dottedQuadAt(src: Uint8Array, start: number, end: number, out: Uint8Array): 0 | 1 | 2 {
  let part = 0;
  let digits = 0;
  let idx = 12;
  let canonical = true;
  for (let i = start; i < end; i++) {
    const c = src[i]!;
    if (c === 46) {
      if (digits === 0 || idx >= 15) return 0;
      out[idx++] = part;
      part = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && part === 0) canonical = false;
      part = part * 10 + (c - 48);
      if (++digits > 3 || part > 255) return 0;
    } else return 0;
  }
  if (digits === 0 || idx !== 15) return 0;
  out[15] = part;
  out.fill(0, 0, 10);
  out[10] = 0xff;
  out[11] = 0xff;
  return canonical ? 1 : 2;
}

function parseV6(s: string, out: Uint8Array): Uint8Array | undefined {
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  const dbl = s.indexOf('::');
  if (dbl !== s.lastIndexOf('::')) return undefined;
  const head = dbl >= 0 ? s.slice(0, dbl) : s;
  const tail = dbl >= 0 ? s.slice(dbl + 2) : '';
  const headParts = head.length ? head.split(':') : [];
  const tailParts = tail.length ? tail.split(':') : [];
  const groups: number[] = [];
  const words = (parts: string[], into: number[]): boolean => {
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (p.includes('.')) {
        if (i !== parts.length - 1) return false;
        const v4 = new Uint8Array(16);
        if (!parseV4(p, v4)) return false;
        into.push((v4[12]! << 8) | v4[13]!, (v4[14]! << 8) | v4[15]!);
        continue;
      }
      if (p.length === 0 || p.length > 4 || !/^[0-9a-fA-F]+$/.test(p)) return false;
      into.push(Number.parseInt(p, 16));
    }
    return true;
  };
  const tailGroups: number[] = [];
  if (!words(headParts, groups) || !words(tailParts, tailGroups)) return undefined;
  const fill = 8 - groups.length - tailGroups.length;
  if (dbl >= 0 ? fill < 1 : fill !== 0) return undefined;
  for (let i = 0; i < fill; i++) groups.push(0);
  groups.push(...tailGroups);
  for (let i = 0; i < 8; i++) {
    out[i * 2] = groups[i]! >> 8;
    out[i * 2 + 1] = groups[i]! & 0xff;
  }
  return out;
}

/** True when the 16 bytes are an IPv4-mapped address. */
export function isV4Mapped(b: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return b[10] === 0xff && b[11] === 0xff;
}

/** Formats 16 bytes back to text: dotted quad for IPv4-mapped, RFC 5952 for IPv6. */
export function formatIpBytes(b: Uint8Array): string {
  if (isV4Mapped(b)) return `${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((b[i * 2]! << 8) | b[i * 2 + 1]!);
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/**
 * Just enough address logic for the browser: is this an address or a CIDR, and does an IPv4
 * address fall in an IPv4 CIDR (for the timeline's lanes). Validation proper is the API's job.
 * @module
 */

/** True when the text looks like one address (no prefix length). */
export function isSingleAddress(text: string): boolean {
  return !text.includes('/') || /\/(32|128)$/.test(text);
}

function v4(ip: string): number | undefined {
  const parts = ip.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    const v = Number(p);
    if (!/^\d{1,3}$/.test(p) || v > 255) return undefined;
    n = n * 256 + v;
  }
  return n;
}

/** True when `ip` is inside `cidr` (IPv4; IPv6 compares exact addresses only). */
export function inCidr(ip: string, cidr: string): boolean {
  const [base = '', lenText] = cidr.split('/');
  if (lenText === undefined) return ip === base;
  const a = v4(ip);
  const b = v4(base);
  if (a === undefined || b === undefined) return ip === base;
  const len = Number(lenText);
  const size = 2 ** (32 - len);
  return Math.floor(a / size) === Math.floor(b / size);
}

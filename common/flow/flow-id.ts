/**
 * Flow identity, the key of deduplication: a flow is its uuid (Hubble sets one on every flow
 * since v1.13), or, without one, its content — byte-identical lines are the same flow.
 * @module
 */
import { createHash } from 'node:crypto';

/** A hex digit's value, or -1. */
function nibble(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

/**
 * 16 bytes from a UUID's 32 hex digits (either case, each of the four dashes optional), or an MD5
 * of any other non-empty uuid text. Read by hand: this runs once per flow a source receives.
 */
export function flowIdFromUuid(uuid: string): Uint8Array {
  if (uuid.length >= 32 && uuid.length <= 36) {
    const out = Buffer.allocUnsafe(16);
    let p = 0;
    let i = 0;
    for (; i < 16; i++) {
      if ((i === 4 || i === 6 || i === 8 || i === 10) && uuid.charCodeAt(p) === 0x2d) p++;
      const h = nibble(uuid.charCodeAt(p));
      const l = nibble(uuid.charCodeAt(p + 1));
      if ((h | l) < 0) break;
      out[i] = (h << 4) | l;
      p += 2;
    }
    if (i === 16 && p === uuid.length) return out;
  }
  return contentFlowId(uuid);
}

/** 16 bytes identifying content (a JSON line's bytes, or a Flow's protobuf bytes). */
export function contentFlowId(content: string | Uint8Array): Uint8Array {
  return createHash('md5').update(content).digest();
}

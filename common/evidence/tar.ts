/**
 * A minimal POSIX ustar writer and a strict reader, enough for evidence bundles: regular files
 * only, names under 100 bytes. The reader is strict on purpose — header checksums, zero padding
 * and the zero end blocks are all checked — so that changing ANY byte of a bundle is detected:
 * file contents by the manifest's hashes, everything else by this structure.
 * @module
 */
import { InputError } from '../errors.ts';

/** One file of an archive. */
export interface TarEntry {
  name: string;
  data: Buffer;
}

const block = 512;

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

function header(name: string, size: number, mtimeS: number): Buffer {
  const nameBytes = Buffer.from(name, 'utf8');
  if (nameBytes.length === 0 || nameBytes.length >= 100) throw new InputError(`tar: bad file name "${name}"`);
  const h = Buffer.alloc(block);
  nameBytes.copy(h, 0);
  h.write(octal(0o644, 8), 100, 'ascii'); // mode
  h.write(octal(0, 8), 108, 'ascii'); // uid
  h.write(octal(0, 8), 116, 'ascii'); // gid
  h.write(octal(size, 12), 124, 'ascii');
  h.write(octal(mtimeS, 12), 136, 'ascii');
  h.write('        ', 148, 'ascii'); // checksum placeholder (spaces) while summing
  h.write('0', 156, 'ascii'); // regular file
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return h;
}

/** A ustar archive of the entries, in order, with the given modification time (seconds). */
export function writeTar(entries: readonly TarEntry[], mtimeS: number): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    parts.push(header(e.name, e.data.length, mtimeS), e.data);
    const pad = (block - (e.data.length % block)) % block;
    if (pad) parts.push(Buffer.alloc(pad));
  }
  parts.push(Buffer.alloc(2 * block));
  return Buffer.concat(parts);
}

/** Reads an archive written by writeTar; throws InputError on anything irregular. */
export function readTar(buf: Buffer): TarEntry[] {
  const bad = (why: string): never => {
    throw new InputError(`not a valid bundle archive: ${why}`, 'bundle');
  };
  if (buf.length % block !== 0 || buf.length < 2 * block) bad('its length is not whole 512-byte blocks');
  const out: TarEntry[] = [];
  let off = 0;
  for (;;) {
    if (off + block > buf.length) bad('no end-of-archive blocks');
    const h = buf.subarray(off, off + block);
    if (h.every((b) => b === 0)) break;
    const stored = Number.parseInt(h.subarray(148, 154).toString('ascii'), 8);
    if (h[154] !== 0 || h[155] !== 0x20) bad(`header at byte ${off}: bad checksum field`);
    let sum = 0;
    for (let i = 0; i < block; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
    if (sum !== stored) bad(`header at byte ${off}: checksum mismatch`);
    if (h.subarray(257, 263).toString('ascii') !== 'ustar\0') bad(`header at byte ${off}: not ustar`);
    if (h[156] !== 0x30) bad(`header at byte ${off}: not a regular file`);
    const nameEnd = h.indexOf(0);
    const name = h.subarray(0, nameEnd < 0 || nameEnd > 100 ? 100 : nameEnd).toString('utf8');
    const size = Number.parseInt(h.subarray(124, 135).toString('ascii'), 8);
    if (!Number.isSafeInteger(size) || size < 0) bad(`header at byte ${off}: bad size`);
    off += block;
    if (off + size > buf.length) bad(`${name}: truncated`);
    out.push({ name, data: Buffer.from(buf.subarray(off, off + size)) });
    const padded = Math.ceil(size / block) * block;
    if (!buf.subarray(off + size, off + padded).every((b) => b === 0)) bad(`${name}: padding is not zero`);
    off += padded;
  }
  // Two zero blocks end the archive; nothing may follow them.
  if (off + 2 * block !== buf.length || !buf.subarray(off).every((b) => b === 0))
    bad('bytes after the end of the archive');
  return out;
}

import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { flowIdFromUuid } from './flow-id.ts';

/** The rule as a pattern: 32 hex digits, a dash allowed at each of the four UUID places. */
const canonical = /^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$/;
const want = (u: string) =>
  canonical.test(u) ? Buffer.from(u.replaceAll('-', ''), 'hex') : createHash('md5').update(u).digest();

describe('common > flow > flow-id', () => {
  it.each([
    '0b5c6a3e-2f3c-4f7e-9d1a-6c4b2a1e9f00',
    '0B5C6A3E-2F3C-4F7E-9D1A-6C4B2A1E9F00',
    '0b5c6a3e2f3c4f7e9d1a6c4b2a1e9f00',
    '0b5c6a3e-2f3c4f7e-9d1a6c4b2a1e9f00',
    '0b5c6a3e-2f3c-4f7e-9d1a-6c4b2a1e9f0',
    '0b5c6a3e-2f3c-4f7e-9d1a-6c4b2a1e9f000',
    '0b5c6a3e-2f3c-4f7e-9d1a-6c4b2a1e9f0g',
    '0b5c6a3e--2f3c-4f7e-9d1a6c4b2a1e9f00',
    '0b5c6a3-e2f3c-4f7e-9d1a-6c4b2a1e9f00',
    '0b5c6a3e-2f3c-4f7e-9d1a-6c4b2a1e9f0-',
    'ABC',
    'é'.repeat(32),
  ])('reads %j as the pattern says', (u) => {
    expect(Buffer.from(flowIdFromUuid(u)).toString('hex')).toBe(want(u).toString('hex'));
  });

  it('agrees with the pattern on random ids and their mutations', () => {
    const chars = '0123456789abcdefABCDEF-g';
    let seed = 7;
    const rnd = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % n;
    };
    for (let k = 0; k < 2_000; k++) {
      const u = crypto.randomUUID().split('');
      for (let m = rnd(3); m > 0; m--) {
        const at = rnd(u.length + 1);
        const op = rnd(3);
        if (op === 0) u.splice(at, 1);
        else if (op === 1) u.splice(at, 0, chars[rnd(chars.length)]!);
        else u[at] = chars[rnd(chars.length)]!;
      }
      const s = u.join('');
      expect(Buffer.from(flowIdFromUuid(s)).toString('hex'), s).toBe(want(s).toString('hex'));
    }
  });
});

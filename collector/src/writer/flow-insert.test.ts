import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { BatchToken } from './flow-insert.ts';

describe('collector > writer > flow-insert > BatchToken', () => {
  it('is the digest of the ids in order, whatever the batch size (a token must not change across versions)', () => {
    const token = new BatchToken();
    // Across the token's internal chunks (4,096 ids), twice in a row: take() starts afresh.
    for (const n of [10_000, 4_096, 1]) {
      const ids = Array.from({ length: n }, () => new Uint8Array(randomBytes(16)));
      for (const id of ids) token.add(id);
      expect(token.rows).toBe(n);
      const digest = createHash('sha256').update(Buffer.concat(ids)).digest('hex').slice(0, 40);
      expect(token.take()).toBe(`f1-${n}-${digest}`);
    }
    expect(token.take()).toBe(`f1-0-${createHash('sha256').digest('hex').slice(0, 40)}`);
  });
});

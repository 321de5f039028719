import { describe, expect, it } from 'vitest';
import { createDeliveryQueue } from './delivery-queue.ts';
import { sleep } from './retry.ts';

describe('common > delivery-queue', () => {
  it('delivers in order, retries failures and reports back-pressure when full', async () => {
    const delivered: number[] = [];
    let failuresLeft = 2;
    const retries: number[] = [];
    const q = createDeliveryQueue<number>({
      async deliver(n) {
        await sleep(5);
        if (n === 2 && failuresLeft-- > 0) throw new Error('insert failed');
        delivered.push(n);
      },
      maxPending: 2,
      retryInitialMs: 1,
      retryMaxMs: 5,
      onRetry: (_err, attempt, _delay, n) => retries.push(n * 10 + attempt),
    });
    q.start();
    q.enqueue(1);
    expect(q.hasRoom()).toBe(true);
    q.enqueue(2);
    expect(q.hasRoom()).toBe(false);
    await q.drained();
    expect(q.hasRoom()).toBe(true);
    q.enqueue(3);
    await q.idle();
    expect(delivered).toEqual([1, 2, 3]);
    expect(retries).toEqual([21, 22]);
    expect(await q.stop()).toBe(true);
  });

  it('gives up after the grace period and names what was not delivered', async () => {
    const abandoned: string[] = [];
    const q = createDeliveryQueue<string>({
      deliver: async () => {
        throw new Error('unreachable');
      },
      maxPending: 4,
      retryInitialMs: 5,
      retryMaxMs: 10,
      onAbandoned: (_err, b) => abandoned.push(b),
    });
    q.start();
    q.enqueue('a');
    q.enqueue('b');
    expect(await q.stop(50)).toBe(false);
    expect(q.pending()).toEqual(['a', 'b']);
    await sleep(30);
    expect(abandoned).toEqual(['a', 'b']);
  });
});

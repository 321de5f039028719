import { describe, expect, it } from 'vitest';
import { createDeliveryQueue } from './delivery-queue.ts';
import { waitUntil } from './testing/faults.ts';

describe('common > delivery-queue', () => {
  it('delivers in order, retries failures and reports back-pressure when full', async () => {
    const delivered: number[] = [];
    let failuresLeft = 2;
    const retries: number[] = [];
    // Deliveries wait at a gate, so the queue is full by construction when it is checked.
    let open = () => {};
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const q = createDeliveryQueue<number>({
      async deliver(n) {
        await gate;
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
    open();
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
    // Stopping aborts the retry wait; the abandoned batches are reported as it unwinds.
    await waitUntil('the abandoned batches', () => abandoned.length === 2);
    expect(abandoned).toEqual(['a', 'b']);
  });
});

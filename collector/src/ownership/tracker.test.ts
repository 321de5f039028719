import { describe, expect, it } from 'vitest';
import type { Store } from '../../../common/clickhouse/store.ts';
import { defaultTenancyConfig } from '../../../common/config/tenancy.ts';
import type { Logger } from '../../../common/logger.ts';
import { OPEN_END_NS } from '../../../common/ownership/types.ts';
import { allocFrameLine, frameOf, jobFrameLine } from './testing.ts';
import { createOwnershipTracker } from './tracker.ts';

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => quiet };
// apply*() does no I/O; only start/flush touch the store.
const noStore = {} as Store;
const T = 1_700_000_000_000_000_000n;
const make = () =>
  createOwnershipTracker(
    { tenancy: defaultTenancyConfig, flushIntervalMs: 1000, resyncConcurrency: 1 },
    { store: noStore, logger: quiet },
  );

describe('collector > ownership > tracker', () => {
  it.each([
    {
      description: 'opens at the first update carrying the address, closes at the terminal one',
      updates: [
        { index: 2, id: 'a1', clientStatus: 'pending', modifyTime: T, type: 'PlanResult' },
        { index: 3, id: 'a1', clientStatus: 'pending', modifyTime: T + 10n, address: '10.0.0.1' },
        { index: 4, id: 'a1', clientStatus: 'running', modifyTime: T + 20n, address: '10.0.0.1' },
        { index: 5, id: 'a1', clientStatus: 'failed', modifyTime: T + 30n, address: '10.0.0.1' },
      ],
      expected: [{ address: '10.0.0.1', start: T + 10n, end: T + 30n }],
    },
    {
      description: 'keeps both families and canonical IPv6 text',
      updates: [{ index: 3, id: 'a1', modifyTime: T, address: '10.0.0.1', addressIPv6: 'FD00:0:0::B' }],
      expected: [
        { address: '10.0.0.1', start: T, end: OPEN_END_NS },
        { address: 'fd00::b', start: T, end: OPEN_END_NS },
      ],
    },
    {
      description: 'lost is terminal',
      updates: [
        { index: 3, id: 'a1', modifyTime: T, address: '10.0.0.1' },
        { index: 4, id: 'a1', clientStatus: 'lost', modifyTime: T + 5n },
      ],
      expected: [{ address: '10.0.0.1', start: T, end: T + 5n }],
    },
    {
      description: 'a desired stop alone does not close (the tasks still run)',
      updates: [
        { index: 3, id: 'a1', modifyTime: T, address: '10.0.0.1' },
        {
          index: 4,
          id: 'a1',
          desiredStatus: 'stop',
          modifyTime: T + 5n,
          type: 'PlanResult',
          address: '10.0.0.1',
        },
      ],
      expected: [{ address: '10.0.0.1', start: T, end: OPEN_END_NS }],
    },
    {
      description: 'a terminal allocation seen for the first time opens nothing (never guessed)',
      updates: [{ index: 9, id: 'a1', clientStatus: 'complete', modifyTime: T, address: '10.0.0.1' }],
      expected: [],
    },
    {
      description: 'events applied out of order converge to the same interval',
      updates: [
        { index: 5, id: 'a1', clientStatus: 'complete', modifyTime: T + 30n, address: '10.0.0.1' },
        { index: 4, id: 'a1', clientStatus: 'running', modifyTime: T + 20n, address: '10.0.0.1' },
        { index: 3, id: 'a1', clientStatus: 'pending', modifyTime: T + 10n, address: '10.0.0.1' },
      ],
      expected: [{ address: '10.0.0.1', start: T + 10n, end: T + 30n }],
    },
  ])('$description', ({ updates, expected }) => {
    const t = make();
    for (const u of updates) t.applyFrame(frameOf(allocFrameLine(u)), { replay: true });
    const got = ['10.0.0.1', 'fd00::b'].flatMap((a) =>
      t.intervalsOf(a).map((iv) => ({ address: iv.address, start: iv.start, end: iv.end })),
    );
    expect(got).toEqual(expected);
  });

  it('drops repeated frames by index unless replaying, and counts them', () => {
    const t = make();
    const f = frameOf(allocFrameLine({ index: 3, id: 'a1', modifyTime: T, address: '10.0.0.1' }));
    expect(t.applyFrame(f)).toBe('applied');
    expect(t.applyFrame(f)).toBe('repeat');
    expect(t.applyFrame({ index: 0n, events: [] })).toBe('heartbeat');
    expect(t.stats()).toMatchObject({ framesApplied: 1, framesRepeated: 1, lastIndex: 3n, intervals: 1 });
  });

  it('resolves tenancy: group over job over namespace meta', () => {
    const t = make();
    t.applyNamespace({ name: 'ns-a', meta: { tenant: 'ns-tenant', account_id: 'ns-acct' }, modifyIndex: 1n });
    t.applyFrame(frameOf(jobFrameLine(2, { id: 'web', namespace: 'ns-a', meta: { tenant: 'job-tenant' } })));
    t.applyFrame(
      frameOf(allocFrameLine({ index: 3, id: 'a1', namespace: 'ns-a', modifyTime: T, address: '10.0.0.1' })),
    );
    expect(t.allocAt('10.0.0.1', T)).toMatchObject({
      tenant: 'job-tenant',
      account: 'ns-acct',
      namespace: 'ns-a',
    });
    expect(t.namespaceTenancy('ns-a')).toEqual({ tenant: 'ns-tenant', account: 'ns-acct' });
  });

  it('tracks node host addresses as owners of their own kind', () => {
    const t = make();
    t.applyNode(
      { id: 'n1', name: 'nomad-1', status: 'ready', modifyIndex: 3n, addresses: ['10.138.0.5'] },
      { at: T },
    );
    expect(t.nodeAt('10.138.0.5', T)).toMatchObject({ kind: 'node', nodeName: 'nomad-1' });
    t.applyNode(
      { id: 'n1', name: 'nomad-1', status: 'down', modifyIndex: 4n, addresses: ['10.138.0.5'] },
      { removed: true, at: T + 9n },
    );
    expect(t.nodeAt('10.138.0.5', T + 9n)).toBeUndefined();
    expect(t.allocAt('10.138.0.5', T)).toBeUndefined();
  });
});

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { createChdbStore } from '../../../common/clickhouse/chdb-store.ts';
import { migrate } from '../../../common/clickhouse/migrator.ts';
import type { Store } from '../../../common/clickhouse/store.ts';
import { defaultTenancyConfig } from '../../../common/config/tenancy.ts';
import { attributeFlowEnds, reattributeSql } from '../../../common/ownership/reattribute.ts';
import { labelOwner, who } from '../../../common/ownership/who.ts';
import { formatTimeNs } from '../../../common/time.ts';
import { allocFrameLine, frameOf, jobFrameLine } from './testing.ts';
import { createOwnershipTracker } from './tracker.ts';

const dataDir = mkdtempSync(path.join(tmpdir(), 'flowtrail-ownership-'));
const S = 1_000_000_000n;
const T0 = 1_700_000_000_000_000_000n;
let store: Store;

const quiet = { debug() {}, info() {}, warn() {}, error() {}, child: () => quiet };
const newTracker = () =>
  createOwnershipTracker(
    { tenancy: defaultTenancyConfig, flushIntervalMs: 60_000, resyncConcurrency: 1 },
    { store, logger: quiet },
  );

// 10.0.0.5: tenant A's alloc-a from T0+10s to T0+60s; then tenant B's alloc-b from T0+70s on.
const frames = [
  jobFrameLine(10, { id: 'api', namespace: 'ns-a', meta: { tenant: 'tenant-a', account_id: 'acct-a' } }),
  jobFrameLine(11, { id: 'miner', namespace: 'ns-b', meta: { tenant: 'tenant-b', account_id: 'acct-b' } }),
  allocFrameLine({
    index: 12,
    id: 'alloc-a',
    namespace: 'ns-a',
    job: 'api',
    clientStatus: 'pending',
    modifyTime: T0,
    type: 'PlanResult',
  }),
  allocFrameLine({
    index: 13,
    id: 'alloc-a',
    namespace: 'ns-a',
    job: 'api',
    clientStatus: 'pending',
    modifyTime: T0 + 10n * S,
    address: '10.0.0.5',
    addressIPv6: 'fd00::5',
  }),
  allocFrameLine({
    index: 14,
    id: 'alloc-a',
    namespace: 'ns-a',
    job: 'api',
    clientStatus: 'running',
    modifyTime: T0 + 12n * S,
    address: '10.0.0.5',
    addressIPv6: 'fd00::5',
  }),
  allocFrameLine({
    index: 15,
    id: 'alloc-a',
    namespace: 'ns-a',
    job: 'api',
    clientStatus: 'running',
    desiredStatus: 'stop',
    modifyTime: T0 + 55n * S,
    type: 'PlanResult',
  }),
  allocFrameLine({
    index: 16,
    id: 'alloc-a',
    namespace: 'ns-a',
    job: 'api',
    clientStatus: 'complete',
    desiredStatus: 'stop',
    modifyTime: T0 + 60n * S,
    address: '10.0.0.5',
    addressIPv6: 'fd00::5',
  }),
  allocFrameLine({
    index: 17,
    id: 'alloc-b',
    namespace: 'ns-b',
    job: 'miner',
    clientStatus: 'pending',
    modifyTime: T0 + 70n * S,
    address: '10.0.0.5',
  }),
].map(frameOf);

describe('collector > ownership (chdb)', () => {
  beforeEach(async () => {
    store = await createChdbStore(dataDir, `own_${Math.random().toString(36).slice(2, 10)}`);
    await migrate(store);
  });
  afterAll(async () => {
    await store?.close();
  });

  it('records reuse by two tenants and answers who-held at every instant', async () => {
    const tracker = newTracker();
    await tracker.start();
    for (const f of frames) tracker.applyFrame(f);
    await tracker.stop();

    const cases = [
      { at: T0 + 10n * S - 1n, owner: null, next: 'alloc-a' },
      {
        at: T0 + 10n * S,
        owner: 'alloc-a',
        tenant: 'tenant-a',
        end: formatTimeNs(T0 + 60n * S),
        next: 'alloc-b',
      },
      { at: T0 + 60n * S - 1n, owner: 'alloc-a', tenant: 'tenant-a' },
      { at: T0 + 60n * S, owner: null, previous: 'alloc-a', next: 'alloc-b' },
      { at: T0 + 70n * S, owner: 'alloc-b', tenant: 'tenant-b', previous: 'alloc-a', next: null },
      { at: T0 + 9999n * S, owner: 'alloc-b', tenant: 'tenant-b', previous: 'alloc-a' },
    ];
    for (const c of cases) {
      const r = await who(store, '10.0.0.5', c.at);
      expect(r.at).toBe(formatTimeNs(c.at));
      expect(r.owner?.alloc_id ?? null).toBe(c.owner);
      if (c.tenant) expect(r.owner?.tenant).toBe(c.tenant);
      if (c.end) expect(r.owner?.end).toBe(c.end);
      if ('previous' in c) expect(r.previous?.alloc_id ?? null).toBe(c.previous);
      if ('next' in c) expect(r.next?.alloc_id ?? null).toBe(c.next);
    }
    const b = await who(store, '10.0.0.5', T0 + 80n * S);
    expect(b.owner).toEqual({
      tenant: 'tenant-b',
      account: 'acct-b',
      namespace: 'ns-b',
      job: 'miner',
      group: 'web',
      alloc_id: 'alloc-b',
      alloc_name: 'miner.web[0]',
      node: 'nomad-1',
      start: formatTimeNs(T0 + 70n * S),
      end: null,
      source: 'ownership',
    });
    expect((await who(store, 'fd00:0::5', T0 + 20n * S)).owner?.alloc_id).toBe('alloc-a');
    expect((await who(store, '10.9.9.9', T0 + 20n * S)).owner).toBeNull();
  });

  it('is restart-safe: reloads intervals and re-applying the same events doubles nothing', async () => {
    const first = newTracker();
    await first.start();
    for (const f of frames) first.applyFrame(f);
    await first.stop();

    const second = newTracker();
    await second.start();
    expect(second.lastIndex).toBe(17n);
    expect(second.allocAt('10.0.0.5', T0 + 30n * S)?.tenant).toBe('tenant-a');
    expect(second.allocAt('10.0.0.5', T0 + 65n * S)).toBeUndefined();
    for (const f of frames) second.applyFrame(f, { replay: true });
    expect(second.stats().pendingWrites).toBe(0);
    for (const f of frames) expect(second.applyFrame(f)).not.toBe('applied');
    await second.stop();
    const rows = await store.query<{ n: string }>(
      'SELECT count() AS n FROM (SELECT address, alloc_id FROM ownership GROUP BY address, alloc_id)',
    );
    expect(rows[0]!.n).toBe('3');
    expect(second.intervalsOf('10.0.0.5').map((iv) => iv.allocId)).toEqual(['alloc-a', 'alloc-b']);
  });

  it('re-attributes flows stored before their owner was known, at query time', async () => {
    // Retention counts from received_at, so set it (the default 1970 would expire at once).
    const recv = (BigInt(Date.now()) * 1_000_000n).toString();
    await store.insertJson('flows', [
      {
        flow_id: 'late-flow-000000',
        time: (T0 + 20n * S).toString(),
        source_ip: '10.0.0.5',
        destination_ip: '8.8.8.8',
        src_source: 'none',
        dst_source: 'none',
        received_at: recv,
      },
      {
        flow_id: 'late-flow-000001',
        time: (T0 + 65n * S).toString(),
        source_ip: '10.0.0.5',
        destination_ip: '8.8.8.8',
        src_source: 'none',
        dst_source: 'none',
        received_at: recv,
      },
      {
        flow_id: 'late-flow-000002',
        time: (T0 + 90n * S).toString(),
        source_ip: '10.0.0.5',
        destination_ip: '8.8.8.8',
        src_source: 'none',
        dst_source: 'none',
        received_at: recv,
      },
    ]);
    // The Nomad events arrive only now.
    const tracker = newTracker();
    await tracker.start();
    for (const f of frames) tracker.applyFrame(f);
    await tracker.stop();

    const src = reattributeSql('src');
    const dst = reattributeSql('dst');
    const rows = await store.query<{
      src_tenant_eff: string;
      src_source_eff: string;
      src_alloc_id_eff: string;
      dst_source_eff: string;
    }>(
      `SELECT f.time AS time, ${src.columns}, ${dst.columns} FROM flows AS f ${src.join} ${dst.join} ORDER BY f.time`,
    );
    expect(rows.map((r) => r.dst_source_eff)).toEqual(['none', 'none', 'none']);
    expect(rows.map((r) => [r.src_tenant_eff, r.src_source_eff, r.src_alloc_id_eff])).toEqual([
      ['tenant-a', 'ownership', 'alloc-a'],
      ['', 'none', ''],
      ['tenant-b', 'ownership', 'alloc-b'],
    ]);

    const blank = {
      tenant: '',
      account: '',
      namespace: '',
      job: '',
      group: '',
      allocId: '',
      allocName: '',
      node: '',
    };
    const owners = await attributeFlowEnds(store, [
      { ...blank, ip: '10.0.0.5', timeNs: T0 + 20n * S, source: 'none' },
      { ...blank, ip: '10.0.0.5', timeNs: T0 + 65n * S, source: 'none' },
      { ...blank, ip: '8.8.8.8', timeNs: T0 + 20n * S, source: 'none' },
      {
        ...blank,
        ip: '10.0.0.5',
        timeNs: T0 + 90n * S,
        source: 'label',
        tenant: 'tenant-b',
        job: 'miner',
        allocId: 'alloc-b',
      },
    ]);
    expect(owners[0]).toMatchObject({
      alloc_id: 'alloc-a',
      tenant: 'tenant-a',
      source: 'ownership',
      end: formatTimeNs(T0 + 60n * S),
    });
    expect(owners[1]).toBeNull();
    expect(owners[2]).toBeNull();
    expect(owners[3]).toMatchObject({
      alloc_id: 'alloc-b',
      source: 'label',
      start: formatTimeNs(T0 + 70n * S),
      end: null,
    });
  });

  it('falls back to netreap labels on stored flows only with evidence on both sides of the instant', async () => {
    const recv = (BigInt(Date.now()) * 1_000_000n).toString();
    const flow = (t: bigint, ip: string, tenant: string, side: 'src' | 'dst' = 'src') => ({
      time: t.toString(),
      received_at: recv,
      [side === 'src' ? 'source_ip' : 'destination_ip']: ip,
      [`${side}_source`]: 'label',
      [`${side}_tenant`]: tenant,
      [`${side}_namespace`]: `ns-${tenant}`,
      [`${side}_job`]: 'web',
    });
    await store.insertJson('flows', [
      flow(T0 + 100n * S, '10.7.7.7', 'lab'),
      flow(T0 + 200n * S, '10.7.7.7', 'lab', 'dst'),
      flow(T0 + 100n * S, '10.8.8.8', 'one'),
      flow(T0 + 200n * S, '10.8.8.8', 'two'),
    ]);
    const answer = await who(store, '10.7.7.7', T0 + 150n * S);
    expect(answer.owner).toMatchObject({
      tenant: 'lab',
      namespace: 'ns-lab',
      job: 'web',
      alloc_id: '',
      source: 'label',
    });
    expect(answer.owner?.start).toBe(formatTimeNs(T0 + 100n * S));
    expect(answer.owner?.end).toBe(formatTimeNs(T0 + 200n * S));
    expect(await labelOwner(store, '10.7.7.7', T0 + 250n * S)).toBeNull(); // nothing after: no answer
    expect(await labelOwner(store, '10.8.8.8', T0 + 150n * S)).toBeNull(); // two identities: no answer
  });
});

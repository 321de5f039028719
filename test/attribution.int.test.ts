/**
 * End to end over loopback: the Nomad stand-in (real HTTP, real encoding) driven by the churn
 * scenario, the Nomad client and the ownership tracker, ClickHouse (chdb), the who-held service
 * and the enricher. Ground truth is the scenario's history.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createEnricher } from '../collector/src/enrich/index.ts';
import { createNomadClient } from '../collector/src/nomad/client.ts';
import { createScenario, type Scenario } from '../collector/src/nomad-standin/scenario.ts';
import { createNomadStandin, type NomadStandin } from '../collector/src/nomad-standin/server.ts';
import { createStandinState } from '../collector/src/nomad-standin/state.ts';
import { createOwnershipTracker, type OwnershipTracker } from '../collector/src/ownership/tracker.ts';
import { createChdbStore } from '../common/clickhouse/chdb-store.ts';
import { migrate } from '../common/clickhouse/migrator.ts';
import type { Store } from '../common/clickhouse/store.ts';
import { defaultTenancyConfig } from '../common/config/tenancy.ts';
import type { Logger } from '../common/logger.ts';
import { OPEN_END_NS } from '../common/ownership/types.ts';
import { who } from '../common/ownership/who.ts';
import { waitUntil } from '../common/testing/faults.ts';

const dataDir = mkdtempSync(path.join(tmpdir(), 'flowtrail-attribution-'));
const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => quiet };

let store: Store;
let standin: NomadStandin;
let scenario: Scenario;
let tracker: OwnershipTracker | undefined;
let url: string;

const lastFrameIndex = () => scenario.state.buffer.at(-1)?.Index ?? 0n;
const caughtUp = () =>
  waitUntil('the tracker to catch up', () => (tracker?.lastIndex ?? 0n) >= lastFrameIndex());

function startTracker(): OwnershipTracker {
  const client = createNomadClient({
    address: url,
    token: '',
    region: '',
    caCertFile: '',
    requestTimeoutMs: 2000,
    blockingWaitSeconds: 1,
  });
  tracker = createOwnershipTracker(
    { tenancy: defaultTenancyConfig, flushIntervalMs: 100, resyncConcurrency: 4 },
    { store, nomad: client, logger: quiet, retry: { initialDelayMs: 10, maxDelayMs: 100 } },
  );
  return tracker;
}

describe('test > attribution end to end (stand-in over loopback, chdb)', () => {
  beforeEach(async () => {
    store = await createChdbStore(dataDir, `e2e_${Math.random().toString(36).slice(2, 10)}`);
    await migrate(store);
    scenario = createScenario({
      tenants: 3,
      addressPool: '10.42.0.0/29',
      running: 4,
      ipv6: true,
      seed: 3,
      state: createStandinState({ eventBufferSize: 1000 }),
    });
    scenario.setup();
    standin = createNomadStandin({ state: scenario.state, heartbeatMs: 100 });
    url = await standin.listen();
  });
  afterEach(async () => {
    await tracker?.stop();
    tracker = undefined;
    await standin.close();
  });
  afterAll(async () => {
    await store?.close();
  });

  it('survives a cut stream and an outage mid-scenario without lost or doubled intervals', async () => {
    for (let i = 0; i < 3; i++) scenario.step();
    const t = startTracker();
    await t.start();
    await caughtUp();
    for (let i = 0; i < 3; i++) scenario.step();
    await caughtUp();

    expect(standin.cutStreams()).toBe(1);
    for (let i = 0; i < 3; i++) scenario.step(); // while the client reconnects
    await caughtUp();

    standin.setDown(true);
    for (let i = 0; i < 3; i++) scenario.step(); // while the API is unreachable
    // The outage is felt by construction: the tracker lost its stream and was refused twice more.
    const refusedBefore = standin.refused;
    await waitUntil(
      'the tracker to retry into the outage',
      () => !t.stats().connected && standin.refused >= refusedBefore + 2,
    );
    standin.setDown(false);
    await caughtUp();
    for (let i = 0; i < 2; i++) scenario.step();
    await caughtUp();
    expect(t.stats().resyncs).toBeGreaterThanOrEqual(3);

    const truth = scenario.history();
    // Tenants really did reuse addresses.
    const tenantsPerAddress = new Map<string, Set<string>>();
    for (const iv of truth)
      tenantsPerAddress.set(iv.address, (tenantsPerAddress.get(iv.address) ?? new Set()).add(iv.tenant));
    expect([...tenantsPerAddress.values()].some((s) => s.size > 1)).toBe(true);

    // In memory: exactly the truth, to the nanosecond.
    const addresses = [...new Set(truth.map((iv) => iv.address))];
    const held = addresses.flatMap((a) =>
      t
        .intervalsOf(a)
        .map((iv) => ({ address: a, allocId: iv.allocId, tenant: iv.tenant, start: iv.start, end: iv.end })),
    );
    const expected = truth.map((iv) => ({
      address: iv.address,
      allocId: iv.allocId,
      tenant: iv.tenant,
      start: iv.start,
      end: iv.end ?? OPEN_END_NS,
    }));
    const key = (x: { address: string; start: bigint }) => `${x.address}@${x.start}`;
    expect(held.sort((a, b) => key(a).localeCompare(key(b)))).toEqual(
      expected.sort((a, b) => key(a).localeCompare(key(b))),
    );

    // In ClickHouse: the same intervals, once each, and who-held right at every boundary.
    await t.stop();
    const rows = await store.query<{ n: string }>(
      "SELECT count() AS n FROM (SELECT address, alloc_id FROM ownership WHERE kind = 'alloc' GROUP BY address, alloc_id)",
    );
    expect(Number(rows[0]!.n)).toBe(truth.length);
    for (const iv of truth.filter((x) => !x.address.includes(':')).slice(0, 12)) {
      expect((await who(store, iv.address, iv.start)).owner).toMatchObject({
        alloc_id: iv.allocId,
        tenant: iv.tenant,
        account: iv.account,
      });
      if (iv.end !== null) {
        expect((await who(store, iv.address, iv.end - 1n)).owner?.alloc_id).toBe(iv.allocId);
        expect((await who(store, iv.address, iv.end)).owner?.alloc_id ?? null).not.toBe(iv.allocId);
      }
    }
    expect((await who(store, '10.99.0.1', scenario.state.clock())).owner).toBeNull();
  });

  it('resubscribes when a namespace appears, so its allocations are not silently dropped', async () => {
    const t = startTracker();
    await t.start();
    await caughtUp();
    const s = scenario.state;
    s.upsertNamespace('tenant-late', { tenant: 'late', account_id: 'acct-late' });
    s.registerJob({ namespace: 'tenant-late', id: 'late-web', meta: null, groups: [{ name: 'web' }] });
    const node = [...s.nodes.keys()][0]!;
    const placed = s.placeAllocation({
      namespace: 'tenant-late',
      jobId: 'late-web',
      group: 'web',
      nodeId: node,
    });
    const net = s.setAllocNetwork(String(placed['ID']), '10.42.0.200');
    await waitUntil(
      'the late namespace allocation',
      () => t.allocAt('10.42.0.200', net['ModifyTime'] as bigint) !== undefined,
    );
    expect(t.allocAt('10.42.0.200', net['ModifyTime'] as bigint)).toMatchObject({
      tenant: 'late',
      account: 'acct-late',
      namespace: 'tenant-late',
    });
    expect(t.allocAt('10.42.0.200', (net['ModifyTime'] as bigint) - 1n)).toBeUndefined();
  });

  it('attributes netreap-labelled flows from labels while the Nomad API is down, and never guesses the rest', async () => {
    standin.setDown(true);
    const t = startTracker();
    await t.start();
    const enricher = createEnricher({ tenancy: defaultTenancyConfig }, { ownership: t });
    const [a, b] = scenario.running();
    const now = scenario.state.clock();
    const r = enricher.enrich({
      timeNs: now,
      sourceIp: a!.address,
      destinationIp: b!.address,
      sourceLabels: a!.labels,
      destinationLabels: b!.labels,
    });
    expect(r.source).toMatchObject({
      source: 'label',
      tenant: a!.tenant,
      account: a!.account,
      namespace: a!.namespace,
      job: a!.job,
      group: 'web',
      allocId: '',
    });
    expect(r.destination).toMatchObject({ source: 'label', tenant: b!.tenant, job: b!.job });
    expect(r.source.scope).toBe(a!.tenant === b!.tenant ? 'same-tenant' : 'other-tenant');
    const unlabelled = enricher.enrich({
      timeNs: now,
      sourceIp: a!.address,
      destinationIp: '10.99.0.1',
      sourceLabels: ['reserved:init'],
      destinationLabels: [],
    });
    expect(unlabelled.source).toMatchObject({ source: 'none', tenant: '' });
    expect(unlabelled.destination).toMatchObject({ source: 'none', tenant: '' });
    expect(t.stats().connected).toBe(false);
  });
});

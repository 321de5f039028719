/**
 * Tracker restart safety (issue 12.2): Nomad's index going back below the one the tracker
 * stored (a restarted stand-in, a restored or rebuilt cluster) is a reset, not a stream of
 * repeats. Both orders: Nomad restarts under a running collector, and Nomad restarts while the
 * collector is down (the collector then starts with the old index loaded from ClickHouse).
 * Real HTTP (the stand-in on loopback, same port), real chdb.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
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

const dataDir = mkdtempSync(path.join(tmpdir(), 'flowtrail-tracker-restart-'));
const warnings: string[] = [];
const logger: Logger = {
  debug() {},
  info() {},
  warn: (msg: string) => void warnings.push(msg),
  error() {},
  child: () => logger,
};

let store: Store;
let standin: NomadStandin | undefined;
let tracker: OwnershipTracker | undefined;

async function waitFor(cond: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function newScenario(seed: number): Scenario {
  const s = createScenario({
    tenants: 3,
    addressPool: '10.43.0.0/29',
    running: 4,
    seed,
    state: createStandinState({ eventBufferSize: 1000 }),
  });
  s.setup();
  return s;
}

async function serve(s: Scenario, port = 0): Promise<string> {
  standin = createNomadStandin({ state: s.state, heartbeatMs: 100 });
  return standin.listen(port);
}

function startTracker(url: string): OwnershipTracker {
  tracker = createOwnershipTracker(
    { tenancy: defaultTenancyConfig, flushIntervalMs: 100, resyncConcurrency: 4 },
    {
      store,
      logger,
      nomad: createNomadClient({
        address: url,
        token: '',
        region: '',
        caCertFile: '',
        requestTimeoutMs: 2000,
        blockingWaitSeconds: 1,
      }),
      retry: { initialDelayMs: 10, maxDelayMs: 100 },
    },
  );
  return tracker;
}

const lastIndexOf = (s: Scenario) => s.state.buffer.at(-1)?.Index ?? 0n;

/** The new cluster's churn reaches the tracker: frames applied, its owners answer lookups. */
async function expectFollowing(t: OwnershipTracker, s: Scenario): Promise<void> {
  const before = t.stats().framesApplied;
  for (let i = 0; i < 3; i++) s.step();
  await waitFor(() => t.lastIndex >= lastIndexOf(s), 'the tracker to follow the restarted cluster');
  expect(t.stats().framesApplied).toBeGreaterThan(before);
  const now = s.state.clock();
  for (const w of s.running()) expect(t.allocAt(w.address, now)?.allocId).toBe(w.allocId);
  expect(t.stats().indexResets).toBe(1);
  expect(warnings.filter((w) => w.includes('index went backwards'))).toHaveLength(1);
}

describe('test > tracker restart safety (stand-in over loopback, chdb)', () => {
  afterEach(async () => {
    await tracker?.stop();
    tracker = undefined;
    await standin?.close();
    standin = undefined;
    warnings.length = 0;
  });
  afterAll(async () => {
    await store?.close();
  });

  it('Nomad restarts under a running collector: reset, re-list, follow', async () => {
    store = await createChdbStore(dataDir, 'restart_a');
    await migrate(store);
    const old = newScenario(5);
    for (let i = 0; i < 20; i++) old.step();
    const url = await serve(old);
    const t = startTracker(url);
    await t.start();
    await waitFor(() => t.lastIndex >= lastIndexOf(old), 'the tracker to catch up');
    const storedIndex = t.lastIndex;

    // The stand-in restarts from index 1 on the same address with a fresh cluster.
    const port = Number(new URL(url).port);
    await standin!.close();
    const fresh = newScenario(6);
    expect(fresh.state.index).toBeLessThan(storedIndex);
    await serve(fresh, port);
    await waitFor(() => t.stats().indexResets > 0, 'the reset to be detected');
    await expectFollowing(t, fresh);
  });

  it('Nomad restarts while the collector is down: the stored index is reset on start', async () => {
    store = await createChdbStore(dataDir, 'restart_b');
    await migrate(store);
    const old = newScenario(7);
    for (let i = 0; i < 20; i++) old.step();
    const url = await serve(old);
    const first = startTracker(url);
    await first.start();
    await waitFor(() => first.lastIndex >= lastIndexOf(old), 'the tracker to catch up');
    await first.stop(); // collector down; its index is in ClickHouse
    tracker = undefined;
    const storedIndex = first.lastIndex;
    const port = Number(new URL(url).port);
    await standin!.close();

    const fresh = newScenario(8);
    await serve(fresh, port);
    const second = startTracker(url);
    await second.start();
    expect(second.lastIndex).toBe(storedIndex); // loaded from ClickHouse
    await waitFor(() => second.stats().indexResets > 0, 'the reset to be detected');
    await expectFollowing(second, fresh);
  });
});

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Collector, createCollector, defaultCollectorConfig } from '../collector/src/collector.ts';
import { createGenerator, type Generator } from '../collector/src/generator/generator.ts';
import { createObserverServer } from '../collector/src/generator/observer-server.ts';
import { createChdbStore } from '../common/clickhouse/chdb-store.ts';
import type { Store } from '../common/clickhouse/index.ts';
import { migrate } from '../common/clickhouse/migrator.ts';
import { configureLogging, createLogger } from '../common/logger.ts';
import { createMetrics } from '../common/metrics.ts';
import { faultyStore, waitUntil } from '../common/testing/faults.ts';

configureLogging({ level: 'error' });
const dataDir = path.join(mkdtempSync(path.join(tmpdir(), 'flowtrail-e2e-')), 'data');
let store: Store;
let db = 0;

beforeAll(async () => {
  store = await createChdbStore(dataDir, 'e2e_boot');
});
afterAll(async () => {
  await store?.close();
});

async function freshStore(): Promise<Store> {
  const s = await createChdbStore(dataDir, `e2e_${++db}_${Date.now()}`);
  await migrate(s);
  return s;
}

/** The uuids of every flow the generator put in its ring. */
function generatedUuids(gen: Generator): string[] {
  const out: string[] = [];
  for (let seq = Math.max(0, gen.ring.head - gen.ring.capacity); seq < gen.ring.head; seq++) {
    const ev = gen.ring.at(seq);
    if (ev?.kind === 'flow') out.push(ev.response.flow!.uuid);
  }
  return out;
}

async function storedUuids(s: Store): Promise<string[]> {
  // flow_id holds the uuid's 16 bytes when the flow has one.
  const rows = await s.query<{ id: string }>('SELECT lower(hex(flow_id)) AS id FROM flows');
  return rows
    .map(
      ({ id }) =>
        `${id.slice(0, 8)}-${id.slice(8, 12)}-${id.slice(12, 16)}-${id.slice(16, 20)}-${id.slice(20)}`,
    )
    .sort();
}

function collectorFor(
  s: Store,
  target: string,
  sink: Partial<typeof defaultCollectorConfig.sink> = {},
): Collector {
  return createCollector(
    {
      ...defaultCollectorConfig,
      targets: [target],
      sink: { ...defaultCollectorConfig.sink, flushIntervalMs: 100, ...sink },
      backoffInitialMs: 50,
      backoffMaxMs: 500,
    },
    { store: s, logger: createLogger('test'), metrics: createMetrics('e2e') },
  );
}

describe('generator → gRPC → collector → ClickHouse', () => {
  it('stores exactly the flows the generator served, with lost events recorded', async () => {
    const s = await freshStore();
    const gen = createGenerator({ seed: 7, maxFlows: 50_000, lostEvery: 1000 });
    gen.fill(20_000);
    const server = createObserverServer({ listen: '127.0.0.1:0', supply: gen });
    const target = await server.start();
    const collector = collectorFor(s, target);
    await collector.start();
    try {
      await waitUntil('20,000 stored flows', () => collector.status().sink.stored >= 20_000);
      await collector.flush();
      const expected = generatedUuids(gen).sort();
      expect(expected).toHaveLength(20_000);
      expect(await storedUuids(s)).toEqual(expected);
      const [lost] = await s.query<{ reports: string }>('SELECT count() AS reports FROM lost_events');
      expect(Number(lost!.reports)).toBe(20);
      expect(collector.status().targets[0]).toMatchObject({ target, state: 'connected', flows: 20_000 });
    } finally {
      await collector.stop();
      await server.stop(100);
      await s.close();
    }
  }, 600_000);

  it('loses and doubles nothing when the Hubble server is killed mid-stream and restarted', async () => {
    const s = await freshStore();
    const gen = createGenerator({ seed: 11, maxFlows: 100_000 });
    gen.fill(40_000);
    let server = createObserverServer({ listen: '127.0.0.1:0', supply: gen });
    const target = await server.start();
    // Mid-stream by construction: inserts wait at a gate, so the collector's bounded queue (two sealed
    // batches of 5,000; batches seal by size only) fills, it stops reading, and HTTP/2 flow control holds
    // the rest of the 40,000 on the server's side.
    const faults = faultyStore(s);
    faults.hold();
    const collector = collectorFor(faults.store, target, {
      batchSize: 5_000,
      maxPendingBatches: 2,
      flushIntervalMs: 600_000,
    });
    await collector.start();
    try {
      await waitUntil('5,000 flows received', () => collector.status().targets[0]!.flows >= 5_000);
      await server.stop(0); // killed: open streams are cut
      expect(collector.status().targets[0]!.flows).toBeLessThan(40_000);
      gen.fill(10_000); // the generator keeps producing into its ring while the server is down
      server = createObserverServer({ listen: target, supply: gen });
      await server.start();
      faults.release();
      await waitUntil('a reconnect', () => collector.status().targets[0]!.reconnects > 0);
      const expected = generatedUuids(gen).sort();
      expect(expected).toHaveLength(50_000);
      // flush() seals the open batch, so the wait needs no flush timer.
      await waitUntil(
        'every generated flow stored',
        async () => {
          await collector.flush();
          return collector.status().sink.stored >= expected.length;
        },
        { intervalMs: 200 },
      );
      const stored = await storedUuids(s);
      expect(new Set(stored).size).toBe(stored.length);
      expect(stored).toEqual(expected);
      // Both halves of the resume dedup worked: the flow at exactly the resume point was dropped
      // by the source, the rest of the 5 s overlap by the sink.
      const status = collector.status();
      expect(status.targets[0]!.boundaryDuplicates).toBeGreaterThan(0);
      expect(status.sink.duplicates).toBeGreaterThan(0);
    } finally {
      faults.release();
      await collector.stop();
      await server.stop(100);
      await s.close();
    }
  }, 600_000);
});

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flowIdSet, generatedFlows } from '../../collector/src/kafka/testing.ts';
import { createChdbStore } from '../../common/clickhouse/chdb-store.ts';
import { configureLogging } from '../../common/logger.ts';
import { sleep } from '../../common/retry.ts';
import { repoRoot } from '../../common/testing/fixtures.ts';
import { startBroker, type TestBroker } from '../../kafka/broker.ts';
import { produceAll, quietKafka, startSink, storedFlowIds, testKafkaConfig } from './pipeline.ts';

// `flowtrail writer` as a real process: SIGKILLed mid-stream (offsets of the batch in flight never
// committed), then SIGTERMed (clean stop), then run to the end with --until-idle. The chdb data dir
// belongs to the writer process while it runs; this test opens it only after the last one exited.
describe('test > kafka > writer crash', () => {
  let broker: TestBroker;
  const dir = mkdtempSync(path.join(tmpdir(), 'flowtrail-writer-crash-'));
  const writers: ChildProcess[] = [];
  const dataDir = path.join(dir, 'data');

  beforeAll(async () => {
    configureLogging({ level: 'error' });
    broker = await startBroker();
  });

  afterAll(async () => {
    // A failed run must not leave writers consuming (and the test process waiting on them).
    for (const child of writers)
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await broker?.dispose();
    rmSync(dir, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 });
  });

  it('stores every flow once across SIGKILL, SIGTERM and a restart', async () => {
    const config = testKafkaConfig(broker.brokers, 6);
    const flows = generatedFlows(60_000, { seed: 11 });
    const sink = startSink(config);
    await produceAll(sink, flows);
    await sink.stop();

    const env = {
      ...process.env,
      KAFKA_BROKERS: broker.brokers,
      KAFKA_TOPIC: config.topic,
      KAFKA_GROUP: config.groupId,
      KAFKA_DLQ_TOPIC: config.deadLetterTopic,
      FLOWTRAIL_DATA_DIR: dataDir,
      CLICKHOUSE_DATABASE: 'crash',
      CLICKHOUSE_URL: '',
      FLOWTRAIL_LOG_LEVEL: 'error',
      // The killed writer's partitions move after this, not after the default 30 s.
      KAFKA_SESSION_TIMEOUT_MS: '6000',
    };
    const spawnWriter = (...args: string[]): ChildProcess => {
      const child = spawn(
        process.execPath,
        [path.join(repoRoot, 'bin', 'flowtrail.js'), 'writer', '--batch-rows', '3000', ...args],
        {
          env,
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      writers.push(child);
      return child;
    };
    const exited = (child: ChildProcess) =>
      new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
        child.once('exit', (code, signal) => resolve({ code, signal })),
      );
    const admin = quietKafka(config).admin();
    await admin.connect();
    const committed = async (): Promise<number> => {
      // The group's coordinator may not be ready before the first writer joins: count that as nothing yet.
      const fetched = await admin
        .fetchOffsets({ groupId: config.groupId, topics: [config.topic] })
        .catch(() => []);
      return (fetched[0]?.partitions ?? []).reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
    };
    const waitCommitted = async (child: ChildProcess, above: number) => {
      const deadline = Date.now() + 400_000;
      while ((await committed()) <= above) {
        if (child.exitCode !== null) throw new Error(`writer exited early with ${child.exitCode}`);
        if (Date.now() > deadline) throw new Error('writer committed nothing within 400 s');
        await sleep(25);
      }
    };

    // 1. SIGKILL as soon as the first offsets are committed: later batches are in flight.
    const first = spawnWriter();
    await waitCommitted(first, 0);
    first.kill('SIGKILL');
    expect((await exited(first)).signal).toBe('SIGKILL');
    const afterKill = await committed();

    // 2. SIGTERM mid-stream: a clean stop, exit code 0.
    const second = spawnWriter();
    await waitCommitted(second, afterKill);
    second.kill('SIGTERM');
    expect((await exited(second)).code).toBe(0);

    // 3. Run to the end.
    const third = spawnWriter('--until-idle', '3', '--json');
    let out = '';
    third.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    expect((await exited(third)).code).toBe(0);
    const summary = JSON.parse(out.trim().split('\n').pop() ?? '{}') as { lag: number };
    expect(summary.lag).toBe(0);
    await admin.disconnect();

    const store = await createChdbStore(dataDir, 'crash');
    try {
      const stored = await storedFlowIds(store);
      const want = flowIdSet(flows);
      expect(stored.rows).toBe(want.size);
      expect(stored.ids).toEqual(want);
    } finally {
      await store.close();
    }
  }, 1_500_000);
});

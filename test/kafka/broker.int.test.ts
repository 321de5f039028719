import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitUntil } from '../../common/testing/faults.ts';
import { reapOrphanBrokers, startBroker, type TestBroker } from '../../kafka/broker.ts';

// Proves the harness: a real broker takes idempotent acks=all writes and a consumer group reads every one back,
// in order per key, across a clean restart.
describe('test > kafka > broker', () => {
  let broker: TestBroker;
  let startMs = 0;

  beforeAll(async () => {
    const started = performance.now();
    broker = await startBroker();
    startMs = performance.now() - started;
  });

  afterAll(async () => {
    await broker?.dispose();
  });

  it('round-trips 10,000 idempotent acks=all messages through a consumer group', async () => {
    const total = 10_000;
    const keys = 12;
    const topic = `harness-${randomUUID()}`;
    const kafka = new Kafka({
      clientId: 'harness-test',
      brokers: [broker.brokers],
      logLevel: logLevel.NOTHING,
    });

    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 6 }], waitForLeaders: true });
    await admin.disconnect();

    const producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await producer.connect();
    const produceStarted = performance.now();
    for (let base = 0; base < total; base += 1000) {
      const messages = Array.from({ length: 1000 }, (_, i) => {
        const seq = base + i;
        return { key: `node-${seq % keys}`, value: String(seq) };
      });
      await producer.send({ topic, acks: -1, messages });
    }
    const produceMs = performance.now() - produceStarted;
    await producer.disconnect();

    const consumer = kafka.consumer({ groupId: `harness-${randomUUID()}`, maxWaitTimeInMs: 100 });
    const seen = new Set<number>();
    const lastByKey = new Map<string, number>();
    let duplicates = 0;
    let outOfOrder = 0;
    const consumeStarted = performance.now();
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const done = new Promise<void>((resolve) => {
      void consumer.run({
        eachBatch: async ({ batch }) => {
          for (const message of batch.messages) {
            const seq = Number(message.value?.toString());
            const key = message.key?.toString() ?? '';
            if (seen.has(seq)) duplicates++;
            seen.add(seq);
            if ((lastByKey.get(key) ?? -1) > seq) outOfOrder++;
            lastByKey.set(key, seq);
          }
          if (seen.size >= total) resolve();
        },
      });
    });
    await done;
    const consumeMs = performance.now() - consumeStarted;
    await consumer.disconnect();

    expect(seen.size).toBe(total);
    expect(duplicates).toBe(0);
    expect(outOfOrder).toBe(0);
    console.info(
      `kafka harness: broker start ${Math.round(startMs)} ms, produce ${Math.round(total / (produceMs / 1000))} msg/s, ` +
        `consume ${Math.round(total / (consumeMs / 1000))} msg/s`,
    );
  });

  it('comes back on the same address after a SIGKILL and keeps the data', async () => {
    const topic = `restart-${randomUUID()}`;
    const kafka = new Kafka({
      clientId: 'harness-restart',
      brokers: [broker.brokers],
      logLevel: logLevel.NOTHING,
    });
    const producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await producer.connect();
    await producer.send({ topic, acks: -1, messages: [{ key: 'k', value: 'before' }] });
    await producer.disconnect();

    await broker.kill();
    await broker.restart();

    // The port opens before partition leaders are re-elected; a client retries NOT_LEADER, and so do we.
    const admin = kafka.admin();
    await admin.connect();
    let stored = -1;
    for (const deadline = Date.now() + 180_000; stored < 0; ) {
      try {
        const offsets = await admin.fetchTopicOffsets(topic);
        stored = offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
    await admin.disconnect();
    expect(stored).toBe(1);
  }, 600_000);

  // Linux: the reaper checks a pid's command line in /proc before it kills.
  it.skipIf(process.platform !== 'linux')(
    'reaps the broker of a test process that was SIGKILLed, and its data',
    async () => {
      // SIGKILL runs no exit hook: the owner's JVM is left running until a later start reaps it.
      const owner = spawn(
        process.execPath,
        ['--import', 'tsx/esm', fileURLToPath(new URL('broker-owner.ts', import.meta.url))],
        {
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      let out = '';
      owner.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
      });
      await waitUntil('the owner started its broker', () => out.includes('ready'), { timeoutMs: 300_000 });
      const registry = path.join(tmpdir(), 'flowtrail-kafka-brokers');
      const record = readdirSync(registry)
        .filter((name) => name.endsWith('.json'))
        .map(
          (name) =>
            JSON.parse(readFileSync(path.join(registry, name), 'utf8')) as {
              jvm: number;
              owner: number;
              dataDir: string;
            },
        )
        .find((r) => r.owner === owner.pid);
      expect(record).toBeDefined();
      const { jvm, dataDir } = record!;
      const exited = new Promise((resolve) => owner.once('exit', resolve));
      owner.kill('SIGKILL');
      await exited;
      // Gone, or a zombie nobody has waited for yet (its parent died first).
      const running = (pid: number) => {
        try {
          const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
          return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
        } catch {
          return false;
        }
      };
      expect(running(jvm)).toBe(true);

      expect(await reapOrphanBrokers()).toContain(jvm);
      await waitUntil('the orphaned broker gone', () => !running(jvm), { timeoutMs: 60_000 });
      expect(existsSync(dataDir)).toBe(false);
      // This file's own broker has a live owner: left alone.
      expect(await reapOrphanBrokers()).toEqual([]);
      expect(running(jvm)).toBe(false);
    },
    600_000,
  );
});

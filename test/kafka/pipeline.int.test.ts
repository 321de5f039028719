import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeFrames, serveFrames } from '../../collector/src/bench/frame-server.ts';
import { createCollector, defaultCollectorConfig } from '../../collector/src/collector.ts';
import { createGenerator } from '../../collector/src/generator/generator.ts';
import { createObserverServer } from '../../collector/src/generator/observer-server.ts';
import { headers } from '../../collector/src/kafka/codec.ts';
import { flowIdSet, generatedFlows } from '../../collector/src/kafka/testing.ts';
import type { KafkaWriter, OffsetRange } from '../../collector/src/kafka/writer.ts';
import type { FlowSink } from '../../collector/src/writer/clickhouse-sink.ts';
import { createChdbStore } from '../../common/clickhouse/chdb-store.ts';
import type { Store } from '../../common/clickhouse/index.ts';
import { migrate } from '../../common/clickhouse/migrator.ts';
import type { IngestedFlow } from '../../common/flow/model.ts';
import { configureLogging, createLogger } from '../../common/logger.ts';
import { createMetrics } from '../../common/metrics.ts';
import { faultyStore, waitUntil } from '../../common/testing/faults.ts';
import { startBroker, type TestBroker } from '../../kafka/broker.ts';
import { Flow } from '../../proto/gen/flow/flow.ts';
import {
  produceAll,
  quietKafka,
  startSink,
  startWriter,
  storedFlowIds,
  testKafkaConfig,
  waitForRows,
} from './pipeline.ts';

// The distributed path against a real broker and chdb: collector sink → Kafka → writer group → flows.
// In every case the stored flow_id set equals the produced one, and no flow is stored twice.
describe('test > kafka > pipeline', () => {
  let broker: TestBroker;
  const dir = mkdtempSync(path.join(tmpdir(), 'flowtrail-kafka-pipeline-'));
  let n = 0;
  const stores: Store[] = [];

  const freshStore = async (): Promise<Store> => {
    const store = await createChdbStore(path.join(dir, 'data'), `kafka_${++n}`);
    stores.push(store);
    await migrate(store);
    return store;
  };

  /**
   * Waits until every produced flow is stored, then stops the writers (a stopped writer inserts nothing
   * more), so a late duplicate would be counted, not missed.
   */
  const expectExactly = async (
    store: Store,
    produced: ReturnType<typeof generatedFlows>,
    writers: readonly KafkaWriter[],
  ) => {
    const want = flowIdSet(produced);
    await waitForRows(store, want.size);
    await Promise.all(writers.map((w) => w.stop()));
    const stored = await storedFlowIds(store);
    expect(stored.rows).toBe(want.size);
    expect(stored.ids).toEqual(want);
  };

  beforeAll(async () => {
    configureLogging({ level: 'error' });
    broker = await startBroker();
  });

  afterAll(async () => {
    await broker?.dispose();
    for (const store of stores) await store.close();
    // chdb may still finish a background merge in the folder: retry rather than fail the file over it.
    rmSync(dir, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 });
  });

  it('stores every flow once, dead-letters a malformed message and keeps lost events', async () => {
    const config = testKafkaConfig(broker.brokers);
    const store = await freshStore();
    const flows = generatedFlows(20_000, { seed: 1 });
    const sink = startSink(config);
    sink.recordLost({
      target: 'test:4245',
      nodeName: flows[0]!.nodeName,
      event: { source: 1, num_events_lost: 17n, cpu: 2 },
      timeNs: flows[0]!.timeNs,
      windowStartNs: flows[0]!.timeNs - 1_000n,
    });
    await produceAll(sink, flows.slice(0, 10_000));
    const producer = quietKafka(config).producer();
    await producer.connect();
    await producer.send({ topic: config.topic, messages: [{ partition: 0, value: Buffer.from('garbage') }] });
    await producer.disconnect();
    await produceAll(sink, flows.slice(10_000));
    await sink.stop();

    const writer = await startWriter(config, store);
    await waitUntil('the malformed message dead-lettered', () => writer.stats().deadLettered === 1);
    await expectExactly(store, flows, [writer]);
    const [lost] = await store.query<{ n: string }>('SELECT sum(num_events_lost) AS n FROM lost_events');
    expect(lost?.n).toBe('17');

    const consumer = quietKafka(config).consumer({ groupId: `dlq-${config.groupId}` });
    await consumer.connect();
    await consumer.subscribe({ topic: config.deadLetterTopic, fromBeginning: true });
    const dead = await new Promise<Record<string, string>>((resolve) => {
      void consumer.run({
        eachMessage: async ({ message }) =>
          resolve(Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]))),
      });
    });
    await consumer.disconnect();
    expect(dead[headers.error]).toMatch(/./);
    expect(dead[headers.sourcePartition]).toBe('0');
    expect(writer.stats().deadLettered).toBe(1);
    expect(writer.lag()).toBe(0);
  }, 600_000);

  it('stores the same rows from a Hubble stream through Kafka as the embedded collector does', async () => {
    // The Kafka collector reads only time, node and uuid of each flow and passes its bytes on; the
    // writer walks them into the row. Every column but the ingest time must match the embedded path's.
    const gen = createGenerator({ seed: 11, maxFlows: 10_000 });
    gen.fill(6_000);
    const server = createObserverServer({ listen: '127.0.0.1:0', supply: gen });
    const target = await server.start();
    const config = testKafkaConfig(broker.brokers);
    const embeddedStore = await freshStore();
    const kafkaStore = await freshStore();
    const collectorConfig = {
      ...defaultCollectorConfig,
      targets: [target],
      backoffInitialMs: 50,
      backoffMaxMs: 500,
    };
    const deps = { logger: createLogger('test'), metrics: createMetrics('test_doors') };
    const embedded = createCollector(
      { ...collectorConfig, sink: { ...defaultCollectorConfig.sink, flushIntervalMs: 100 } },
      { ...deps, store: embeddedStore },
    );
    const viaKafka = createCollector(collectorConfig, { ...deps, sink: startSink(config) });
    const writer = await startWriter(config, kafkaStore);
    try {
      await embedded.start();
      await viaKafka.start();
      await waitForRows(embeddedStore, 6_000);
      await waitForRows(kafkaStore, 6_000);
    } finally {
      await embedded.stop();
      await viaKafka.stop();
      await writer.stop();
      await server.stop(100);
    }
    const rows = (store: Store) =>
      store.query<Record<string, unknown>>('SELECT * EXCEPT (received_at) FROM flows ORDER BY flow_id');
    const [a, b] = [await rows(embeddedStore), await rows(kafkaStore)];
    expect(a).toHaveLength(6_000);
    expect(b).toEqual(a);
  }, 600_000);

  it('passes a flow malformed inside a nested field on to the writer, which drops it alone', async () => {
    // The Kafka collector reads time, node and uuid only (a header walk): the flow's nested bytes are
    // first read by the writer, which drops that one flow and stores the rest of its message. A
    // collector walking whole flows would drop it itself, and the writer would read one flow fewer.
    const good = encodeFrames(2_000, 7);
    const flow = Buffer.concat([
      Flow.encode(
        Flow.fromPartial({ uuid: 'malformed-1', node_name: 'bad-node', time: { seconds: 1 } }),
      ).finish(),
      Buffer.from([0x42, 0x02, 0x08, 0xff]), // source endpoint: a varint cut short
    ]);
    const body = Buffer.concat([Buffer.from([0x0a, flow.length]), flow]);
    const frame = Buffer.concat([Buffer.from([0, 0, 0, 0, body.length]), body]);
    // First, so the writer has read it by the time the last good flow is stored (one partition).
    const served = await serveFrames(
      { frames: [frame, ...good.frames], uuidTail: [-1, ...good.uuidTail] },
      '127.0.0.1:0',
      2_001,
    );
    const config = testKafkaConfig(broker.brokers, 1);
    const store = await freshStore();
    const collector = createCollector(
      { ...defaultCollectorConfig, targets: [served.address], backoffInitialMs: 50, backoffMaxMs: 500 },
      { logger: createLogger('test'), metrics: createMetrics('test_malformed'), sink: startSink(config) },
    );
    const writer = await startWriter(config, store);
    try {
      await collector.start();
      await waitForRows(store, 2_000);
      expect(writer.stats().flows).toBe(2_001);
      expect(writer.stats().stored).toBe(2_000);
      expect(writer.stats().deadLettered).toBe(0);
    } finally {
      await collector.stop();
      await writer.stop();
      served.close();
    }
  }, 600_000);

  it('survives the broker stopping and restarting mid-stream', async () => {
    const config = testKafkaConfig(broker.brokers);
    const store = await freshStore();
    const flows = generatedFlows(30_000, { seed: 2 });
    const sink = startSink(config, { maxPendingRequests: 2, maxRequestBytes: 256 << 10 });
    const writer = await startWriter(config, store);
    await produceAll(sink, flows.slice(0, 10_000));
    await broker.stop();
    // While the broker is down the sink fills up and pushes back instead of growing.
    let refused = false;
    let pushed = 10_000;
    for (; pushed < 20_000; pushed++) {
      if (!sink.push(flows[pushed]!)) {
        refused = true;
        pushed++;
        break;
      }
    }
    expect(refused).toBe(true);
    await broker.restart();
    await produceAll(sink, flows.slice(pushed));
    await sink.stop();
    await expectExactly(store, flows, [writer]);
  }, 600_000);

  it('stores everything once when ClickHouse inserts fail for a while', async () => {
    const config = testKafkaConfig(broker.brokers);
    const real = await freshStore();
    // The outage by construction: the first four insert attempts fail, whenever the first one comes.
    const faults = faultyStore(real);
    faults.failNext(4);
    const flows = generatedFlows(20_000, { seed: 3 });
    const writer = await startWriter(config, faults.store);
    const sink = startSink(config);
    await produceAll(sink, flows);
    await sink.stop();
    await expectExactly(real, flows, [writer]);
    expect(faults.failed).toBe(4);
    expect(writer.stats().failedInserts).toBe(4);
  }, 600_000);

  it('stores no duplicate when a restarted collector resends what it had produced', async () => {
    const config = testKafkaConfig(broker.brokers);
    const store = await freshStore();
    const flows = generatedFlows(20_000, { seed: 4 });
    const writer = await startWriter(config, store);
    const first = startSink(config);
    await produceAll(first, flows.slice(0, 12_000));
    await first.stop();
    // Restarted without a resume point, it reads Hubble's ring again: 8,000 flows a second time.
    const second = startSink(config);
    await produceAll(second, flows.slice(4_000));
    await second.stop();
    await expectExactly(store, flows, [writer]);
  }, 600_000);

  it('rebalances when a second writer joins, and stores every flow once', async () => {
    const config = testKafkaConfig(broker.brokers, 6);
    const store = await freshStore();
    const flows = generatedFlows(40_000, { seed: 5 });
    const sink = startSink(config);
    const one = await startWriter(config, store);
    await produceAll(sink, flows.slice(0, 15_000));
    const two = await startWriter(config, store);
    // Produce the rest only once the group has rebalanced, so both writers consume some of it.
    await waitUntil(
      'the group to rebalance',
      () => two.assignedPartitions().length > 0 && one.assignedPartitions().length < 6,
    );
    expect(two.assignedPartitions().length).toBeGreaterThan(0);
    expect(one.assignedPartitions().length).toBeLessThan(6);
    await produceAll(sink, flows.slice(15_000));
    await sink.stop();
    await expectExactly(store, flows, [one, two]);
    // Which writer consumed the later flows depends on which partitions their nodes hash to;
    // what matters is that the group rebalanced (asserted above) and nothing was lost or doubled.
    expect(one.stats().flows + two.stats().flows).toBeGreaterThanOrEqual(flows.length);
  }, 600_000);

  /** A hook that holds the writer's first insert until released, recording every range it inserts. */
  const holdFirstInsert = () => {
    const ranges: OffsetRange[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    return {
      ranges,
      release,
      async beforeInsert(range: OffsetRange) {
        ranges.push(range);
        if (ranges.length === 1) await gate;
      },
    };
  };

  /** Sends `flows` in `sends` parts, each read by the writer before the next is sent. */
  const sendOneByOne = async (
    sink: FlowSink,
    writer: KafkaWriter,
    flows: readonly IngestedFlow[],
    sends: number,
  ) => {
    const size = Math.ceil(flows.length / sends);
    for (let i = 0; i < flows.length; i += size) {
      const read = writer.stats().flows;
      const part = flows.slice(i, i + size);
      await produceAll(sink, part);
      await waitUntil(
        `the writer to read send ${i / size + 1}`,
        () => writer.stats().flows >= read + part.length,
      );
    }
  };

  it('joins the fetches of a partition that arrive while an insert runs into one insert', async () => {
    const config = testKafkaConfig(broker.brokers, 1);
    const store = await freshStore();
    const flows = generatedFlows(6_000, { seed: 21 });
    const sink = startSink(config);
    const hold = holdFirstInsert();
    let fetches = 0;
    // What the writer had read as each fetch was handed over (the bench's drain clock starts there).
    const readAtFetch: number[] = [];
    let writer: KafkaWriter | undefined;
    writer = await startWriter(
      config,
      store,
      { lingerMs: 100, maxBatchAgeMs: 600_000 },
      {
        beforeInsert: hold.beforeInsert,
        onFetch: () => {
          fetches++;
          readAtFetch.push(writer?.stats().messages ?? 0);
        },
      },
    );
    await produceAll(sink, flows.slice(0, 1_000));
    await waitUntil('the first insert to start', () => hold.ranges.length === 1);
    const fetchesBefore = fetches;
    await sendOneByOne(sink, writer, flows.slice(1_000), 5);
    expect(fetches - fetchesBefore).toBeGreaterThanOrEqual(5);
    expect(readAtFetch[0]).toBe(0);
    hold.release();
    await sink.stop();
    await expectExactly(store, flows, [writer]);
    // Five fetches, one insert: the range waiting for the lane grew with each.
    expect(hold.ranges).toHaveLength(2);
    expect(hold.ranges[1]!.start).toBe(hold.ranges[0]!.end + 1n);
    expect(writer.stats().inserts).toBe(2);
  }, 600_000);

  it('inserts a batch that keeps waiting for more once it is maxBatchAgeMs old', async () => {
    const config = testKafkaConfig(broker.brokers, 1);
    const store = await freshStore();
    const flows = generatedFlows(500, { seed: 23 });
    const sink = startSink(config);
    // Never quiet long enough, never full: only its age sends it to the insert.
    const writer = await startWriter(config, store, { lingerMs: 600_000, maxBatchAgeMs: 1_000 });
    await produceAll(sink, flows);
    await sink.stop();
    await expectExactly(store, flows, [writer]);
    expect(writer.stats().inserts).toBe(1);
  }, 600_000);

  it('records every range not yet stored in the commit, and commits past them once stored', async () => {
    const config = testKafkaConfig(broker.brokers, 1);
    const store = await freshStore();
    const flows = generatedFlows(4_000, { seed: 22 });
    const sink = startSink(config);
    const hold = holdFirstInsert();
    // Full at 1,000 rows: each send after the first makes a range of its own.
    const writer = await startWriter(config, store, { batchRows: 1_000, dedupWindow: 10_000 }, hold);
    await produceAll(sink, flows.slice(0, 1_000));
    await waitUntil('the first insert to start', () => hold.ranges.length === 1);
    await sendOneByOne(sink, writer, flows.slice(1_000), 3);
    const admin = quietKafka(config, 'admin').admin();
    await admin.connect();
    const committed = async () =>
      (await admin.fetchOffsets({ groupId: config.groupId, topics: [config.topic] }))[0]!.partitions[0]!;
    try {
      // The first range is inserting, three wait: the committed offset stays at the first one's start
      // and the intent names all four ends, so a successor would replay each with the same bounds.
      const held = await committed();
      expect(held.offset).toBe(hold.ranges[0]!.start.toString());
      const ends = held.metadata?.replace('flowtrail-inflight:', '').split(',') ?? [];
      expect(ends).toHaveLength(4);
      expect(ends[0]).toBe(hold.ranges[0]!.end.toString());
      hold.release();
      await sink.stop();
      await expectExactly(store, flows, [writer]);
      expect(hold.ranges.map((r) => r.end.toString())).toEqual(ends);
      const done = await committed();
      expect(done.offset).toBe((BigInt(ends.at(-1)!) + 1n).toString());
      expect(done.metadata ?? '').not.toContain('flowtrail-inflight:');
    } finally {
      await admin.disconnect();
    }
  }, 600_000);

  it('still skips flows it stored when a collector resends them after a rejoin dropped what it held', async () => {
    const config = testKafkaConfig(broker.brokers, 1);
    const store = await freshStore();
    const flows = generatedFlows(400, { seed: 24 });
    const stored = flows.slice(0, 300);
    const held = flows.slice(300);
    const sink = startSink(config);
    // Full at 300 rows; a smaller batch waits (never quiet long enough, never old enough) until stop.
    const writer = await startWriter(config, store, {
      batchRows: 300,
      lingerMs: 600_000,
      maxBatchAgeMs: 600_000,
    });
    await produceAll(sink, stored);
    await waitForRows(store, stored.length);
    await produceAll(sink, held);
    await waitUntil('the writer to read the held flows', () => writer.stats().flows >= flows.length);
    // A second member makes the group rebalance. The round-robin assignor gives the only partition
    // to the first member id in sort order: the writer's ('writer-…' before 'zz-idle-…'). So the
    // writer keeps it, and at the rejoin it drops the batch it held, then replays its recorded range.
    const idle = quietKafka(config, 'zz-idle').consumer({ groupId: config.groupId, sessionTimeout: 10_000 });
    let idleGotWork = false;
    await idle.connect();
    try {
      await idle.subscribe({ topic: config.topic, fromBeginning: true });
      await idle.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        eachBatch: async () => {
          idleGotWork = true;
          throw new Error('the idle member was given a partition');
        },
      });
      await waitUntil('the writer to replay the dropped range', () => {
        if (idleGotWork) throw new Error('the idle member was given the partition');
        return writer.stats().recovered >= held.length;
      });
      expect(writer.assignedPartitions()).toEqual([0]);
      // The collector resends what was stored (its ring, read again): the writer still knows those ids.
      const repeatsBefore = writer.stats().duplicates;
      await produceAll(sink, stored);
      await sink.stop();
      await waitUntil('the writer to read the resend', () => writer.stats().flows >= 2 * flows.length);
      expect(writer.stats().duplicates - repeatsBefore).toBeGreaterThanOrEqual(stored.length);
      await expectExactly(store, flows, [writer]);
    } finally {
      await idle.disconnect();
    }
  }, 600_000);
});

/**
 * `flowtrail bench --scale N [--runs R] [--ingest-flows N] [--ingest-rounds R] [--keep DIR [--fill-minutes M]] [--json]`:
 * the store at size instead (bin/bench-scale.ts): N flows filled by SQL, every question of the scale
 * issue timed through the HTTP API (p50/p99), and the ingest rate into the filled store against an
 * empty one (R rounds, default 3: the medians).
 * `--keep DIR` keeps the filled store in DIR for the next run; `--fill-minutes M` stops filling after
 * M minutes (a uniform fill of fewer flows) and times that.
 *
 * `flowtrail bench [--flows N] [--raw-flows N] [--ingest-rounds R] [--who-intervals N] [--kafka-flows N] [--json]`:
 * measures ingest end to end over gRPC into chdb and the raw insert rate of the same rows (R rounds,
 * default 3, each pass followed by its raw insert: the medians are reported, each round's too), bytes per flow on disk, the
 * per-flow cost of enrichment, `flowtrail start`'s memory apart from chdb's while it ingests at full
 * rate (bin/start-rss.ts), who-held lookups over the ownership table, and the distributed path
 * (generator → collector → Kafka → writer → chdb; a throwaway local broker unless KAFKA_BROKERS is
 * set — `npm run kafka:install` fetches it), one pass after each embedded round, compared pair by
 * pair. Runs in a scratch
 * directory; prints one JSON object with `--json`.
 * @module
 */
import { benchIngest, medianOf, withScratchStore } from '../../collector/src/bench/ingest-bench.ts';
import { benchEnrich } from '../../collector/src/enrich/bench.ts';
import { openKafkaBench } from '../../collector/src/kafka/bench.ts';
import { benchWho } from '../../collector/src/ownership/bench.ts';
import { createChdbStore } from '../../common/clickhouse/chdb-store.ts';
import { benchScale } from '../bench-scale.ts';
import { benchStartRss } from '../start-rss.ts';
import { parseCommandArgs, positiveInt } from './args.ts';

export async function run(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs('bench', argv, {
    json: { type: 'boolean' },
    flows: { type: 'string' },
    'raw-flows': { type: 'string' },
    'who-intervals': { type: 'string' },
    'kafka-flows': { type: 'string' },
    'ingest-rounds': { type: 'string' },
    scale: { type: 'string' },
    runs: { type: 'string' },
    'ingest-flows': { type: 'string' },
    keep: { type: 'string' },
    'fill-minutes': { type: 'string' },
  });
  const say = (msg: string) => values.json || process.stderr.write(`${msg}\n`);
  if (values.scale !== undefined) {
    const result = await benchScale({
      flows: positiveInt('scale', values.scale, 10_000_000),
      runs: positiveInt('runs', values.runs, 6),
      ingestFlows: positiveInt('ingest-flows', values['ingest-flows'], 200_000),
      ingestRounds: positiveInt('ingest-rounds', values['ingest-rounds'], 3),
      keep: values.keep,
      fillMinutes:
        values['fill-minutes'] === undefined
          ? undefined
          : positiveInt('fill-minutes', values['fill-minutes'], 1),
      say,
    });
    process.stdout.write(
      values.json ? `${JSON.stringify(result)}\n` : `${JSON.stringify(result, null, 2)}\n`,
    );
    return 0;
  }
  const flows = positiveInt('flows', values.flows, 1_000_000);
  const rawFlows = positiveInt('raw-flows', values['raw-flows'], 500_000);
  // The end-to-end and raw figures are medians of this many rounds: on a shared machine one pair
  // moved 0.41–0.59 within an hour (2026-12-03) as the two workloads' speeds drifted apart.
  const rounds = positiveInt('ingest-rounds', values['ingest-rounds'], 3);
  const whoIntervals = positiveInt('who-intervals', values['who-intervals'], 1_000_000);
  // As many as the embedded pass it is compared with (`kafka_vs_embedded`): a shorter pass weighs its
  // tail more (each partition's last range waits `lingerMs` of quiet, then they are inserted one by one).
  const kafkaFlows = positiveInt('kafka-flows', values['kafka-flows'], flows);
  const result = await withScratchStore(async (store, dataDir) => {
    // The Kafka bench opens first (broker, warm-up off the clock), then each embedded round is
    // followed by a Kafka pass: `kafka_vs_embedded` is the median of each pair's own ratio.
    say(`distributed path: a broker and a warm-up through Kafka…`);
    const kafkaStore = await createChdbStore(dataDir, 'kafka_bench');
    const kafkaBench = await openKafkaBench({
      flows: kafkaFlows,
      // Off the clock: a deployed broker and writer run warm. Measured against none (benchKafka of
      // 1M flows, alternated, three rounds, 2026-12-03): 48.5–51.7k against 46.2–47.1k flows/s,
      // the broker's CPU 3.0–3.5 against 4.3–4.5 µs per flow (the JVM compiling its hot paths).
      warmFlows: Math.min(300_000, kafkaFlows),
      store: kafkaStore,
      brokers: process.env['KAFKA_BROKERS'] || undefined,
    }).catch(async (err: unknown) => {
      await kafkaStore.close();
      throw err;
    });
    try {
      say(
        `ingest: ${rounds} rounds of ${flows} flows over gRPC, ${rawFlows} raw rows, ${kafkaFlows} flows through Kafka…`,
      );
      const ingest = await benchIngest(store, {
        flows,
        rawFlows,
        rounds,
        dataDir,
        afterRound: async () => {
          await kafkaBench.pass();
        },
      });
      say(`flowtrail start's memory at full rate: ${flows} flows…`);
      const startRss = await benchStartRss(flows);
      say('enrichment: 1,000,000 flows…');
      const enrich = benchEnrich(1_000_000);
      say(`who-held lookups over ${whoIntervals} ownership intervals…`);
      const who = await benchWho(store, { intervals: whoIntervals, lookups: 300 });
      say('distributed path: the write side alone…');
      const kafka = await kafkaBench.result();
      // A Kafka rate against the embedded path's (the goal's other half): each pass against the
      // embedded round right before it, and the median of those ratios.
      const ratio = (a: number, b: number) => Math.round((a / Math.max(1, b)) * 100) / 100;
      const pairs = kafka.kafka_rounds.map((k, i) =>
        ratio(k.kafka_flows_per_s, ingest.ingest_rounds[i]!.ingest_flows_per_s),
      );
      return {
        ...ingest,
        // Every Kafka figure as the bench reports it, plus the two ratios against the embedded path
        // of this run: the whole chain, and the write side alone (a topic filled beforehand, drained
        // by one writer: in a deployment the collectors' CPU is the Nomad nodes', not this machine's).
        ...kafka,
        kafka_vs_embedded: medianOf(pairs),
        kafka_vs_embedded_rounds: pairs,
        kafka_drain_vs_embedded: ratio(kafka.kafka_drain_flows_per_s ?? 0, ingest.ingest_flows_per_s),
        enrich_ns_per_flow: Math.round(enrich.nsPerFlow),
        enrich_cpu_ns_per_flow: Math.round(enrich.cpuNsPerFlow),
        start_rss: startRss,
        who_intervals: who.intervals,
        who_p50_ms: Math.round(who.p50Ms * 10) / 10,
        who_p99_ms: Math.round(who.p99Ms * 10) / 10,
      };
    } finally {
      await kafkaBench.close();
      await kafkaStore.close();
    }
  });
  process.stdout.write(values.json ? `${JSON.stringify(result)}\n` : `${JSON.stringify(result, null, 2)}\n`);
  return 0;
}

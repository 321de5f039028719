/**
 * The collector side of the Kafka bench (bench.ts) in a process of its own, as a deployment runs it:
 * a collector per Nomad node, never inside a writer's process. When the bench ran both in one
 * process they shared one JavaScript thread and one heap: a writer decoding a large fetch held up
 * the collector's gRPC reads and producer callbacks, and each side's garbage made GC work for both.
 * Same command, alternated, three rounds (2026-12-03, 600,000 flows): 48.1k/41.3k/45.6k flows/s end to
 * end in one process against 49.9k/49.1k/60.3k in two, at 28–32 against 25–30 µs of CPU per flow.
 *
 * The parent forks this module (`startCollectorProcess`) and they talk over IPC:
 * - child → parent `{ type: 'ready' }`: the producer is connected, the source not started;
 * - parent → child `{ type: 'go' }`: the source starts (the parent's clock starts with it);
 * - child → parent `{ type: 'progress', acked }` every 20 ms;
 * - child → parent `{ type: 'done', acked, bytes }`: the source stopped once the collector had taken
 *   `flows`, and the collector sent what it held;
 * - parent → child `{ type: 'exit' }`, or the parent going away: the child stops and exits.
 * @module
 */
import { fork } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { configureLogging, createLogger } from '../../../common/logger.ts';
import { createMetrics } from '../../../common/metrics.ts';
import { startFrameServer } from '../bench/frame-server.ts';
import { createCollector, defaultCollectorConfig } from '../collector.ts';
import { createKafkaClient, type KafkaConfig } from './config.ts';
import { createKafkaSink, defaultKafkaSinkConfig } from './producer-sink.ts';

type ToParent =
  | { type: 'ready' }
  | { type: 'progress'; acked: number }
  | { type: 'done'; acked: number; bytes: number };
type ToChild = { type: 'go' } | { type: 'exit' };

/** The collector process, seen from the bench. */
export interface CollectorProcess {
  /** Its pid: the bench reads its CPU from /proc (cpu-split.ts). */
  readonly pid: number;
  /** Starts the source. */
  go(): void;
  /** Flows Kafka acknowledged, as last reported; throws once the process ended before it was done. */
  acked(): number;
  /**
   * Resolves once the source stopped at `flows` and the collector sent what it held; rejects when
   * the process ends first, or after a generous deadline.
   */
  done(): Promise<{ acked: number; bytes: number }>;
  /** Ends the process (its frame server with it). */
  stop(): Promise<void>;
}

const self = fileURLToPath(import.meta.url);

/** How long the bench waits for the collector to be ready, and to be done once it was told to go. */
const readyTimeoutMs = 120_000;
const doneTimeoutMs = 600_000;

/** `p`, or a rejection saying what did not happen within `ms`. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the bench's collector process: ${what} within ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/**
 * Forks a collector producing `flows` generated flows (the generator's frame server as its own
 * child) to `kafkaConfig`'s topic; resolves once its producer is connected.
 */
export async function startCollectorProcess(
  kafkaConfig: KafkaConfig,
  flows: number,
): Promise<CollectorProcess> {
  // Loaded through tsx, as bin/flowtrail.js loads the CLI (the frame server is started the same way).
  const child = fork(self, [JSON.stringify({ kafkaConfig, flows })], {
    cwd: path.resolve(path.dirname(self), '../../..'),
    execArgv: ['--import', 'tsx/esm'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  // A send racing the channel's close reports to its callback, not as an 'error' event.
  const send = (m: ToChild) => child.connected && child.send(m, () => {});
  let acked = 0;
  let ended: string | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      ended ??= `exited (${code ?? signal})`;
      resolve();
    });
    // The fork failed: there is no process to wait for.
    child.once('error', (err) => {
      ended ??= `failed: ${err.message}`;
      if (child.pid === undefined) resolve();
    });
  });
  let finished = false;
  let markDone!: (r: { acked: number; bytes: number }) => void;
  const done = new Promise<{ acked: number; bytes: number }>((resolve, reject) => {
    markDone = (r) => {
      finished = true;
      resolve(r);
    };
    void exited.then(() => reject(new Error(`the bench's collector process ${ended} before it was done`)));
  });
  done.catch(() => {});
  const ready = new Promise<void>((resolve, reject) => {
    child.on('message', (m: ToParent) => {
      if (m.type === 'ready') resolve();
      else if (m.type === 'progress') acked = m.acked;
      else if (m.type === 'done') {
        acked = m.acked;
        markDone({ acked: m.acked, bytes: m.bytes });
      }
    });
    void exited.then(() => reject(new Error(`the bench's collector process ${ended} before it was ready`)));
  });
  const stop = async () => {
    if (ended) return;
    send({ type: 'exit' });
    // It stops its source and producer first; a child that hangs is not left behind (its frame
    // server goes with it: that server's stdin pipe ends).
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(timer);
  };
  try {
    await within(ready, readyTimeoutMs, 'not ready');
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    pid: child.pid!,
    go: () => send({ type: 'go' }),
    acked() {
      if (ended && !finished) throw new Error(`the bench's collector process ${ended} before it was done`);
      return acked;
    },
    done: () => within(done, doneTimeoutMs, 'not done'),
    stop,
  };
}

/** The child: a collector with the product's defaults, fed by the frame server. */
async function runChild(kafkaConfig: KafkaConfig, flows: number): Promise<void> {
  configureLogging({ level: 'error' });
  const logger = createLogger('bench');
  const metrics = createMetrics('bench_kafka');
  const report = (m: ToParent) => process.send?.(m);
  const sink = createKafkaSink(defaultKafkaSinkConfig, {
    kafka: createKafkaClient(kafkaConfig, logger, 'collector'),
    kafkaConfig,
    logger,
    metrics,
  });
  // It serves exactly `flows` frames, then ends the call, as for the embedded bench.
  const sim = await startFrameServer(undefined, flows);
  // However this process ends, its frame server ends too.
  process.on('exit', () => sim.stop());
  const collector = createCollector(
    { ...defaultCollectorConfig, targets: [sim.address] },
    { sink, logger, metrics },
  );
  sink.start();
  await sink.connected();
  let ticker: NodeJS.Timeout | undefined;
  let stopping: Promise<void> | undefined;
  // Once the collector has taken the N flows, its stop sends what it holds at once: the run moves N
  // flows. (Left serving, the generator kept the collector producing 2–3× N on these 2 cores, taking
  // CPU from the writer for flows the figure never counts.)
  const stop = () => {
    sim.stop();
    stopping ??= collector.stop();
    return stopping;
  };
  const finish = async () => {
    await stop();
    const bytes = metrics.registry.getSingleMetric('flowtrail_bench_kafka_kafka_produced_bytes_total');
    const { stored } = collector.status().sink;
    report({ type: 'done', acked: stored, bytes: (await bytes?.get())?.values[0]?.value ?? 0 });
  };
  const exit = async () => {
    clearInterval(ticker);
    // A collector that cannot stop (a broker gone) does not keep this process alive.
    setTimeout(() => process.exit(1), 20_000).unref();
    await stop();
    process.exit(0);
  };
  process.on('disconnect', () => void exit());
  process.on('message', (m: ToChild) => {
    if (m.type === 'exit') void exit();
    if (m.type !== 'go' || ticker) return;
    collector.start().catch((err: unknown) => {
      process.stderr.write(`bench collector: ${String(err)}\n`);
      process.exit(1);
    });
    ticker = setInterval(() => {
      const s = collector.status().sink;
      report({ type: 'progress', acked: s.stored });
      if (!stopping && s.received >= flows) void finish();
    }, 20);
  });
  report({ type: 'ready' });
}

if (process.argv[1] && self === path.resolve(process.argv[1])) {
  const { kafkaConfig, flows } = JSON.parse(process.argv[2] ?? '{}') as {
    kafkaConfig: KafkaConfig;
    flows: number;
  };
  await runChild(kafkaConfig, flows);
}

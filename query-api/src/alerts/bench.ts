/**
 * Benchmark of the alert engine, for `flowtrail bench` (numbers come from here, never from timed
 * unit tests). It stores `flows` synthetic flows spread over `minutes` (tenant workloads talking
 * to the world and to each other, a share of drops and RST replies, one address scan, port scan,
 * SMTP burst and metadata probe per 10 minutes) in a fresh chdb database, then times one live
 * tick (every enabled rule over the last window) and a backfill of the whole span.
 *
 * Run alone: `npx tsx query-api/src/alerts/bench.ts [flows] [minutes]` (a temp data dir).
 * @module
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createChdbStore } from '../../../common/clickhouse/chdb-store.ts';
import { migrate } from '../../../common/clickhouse/migrator.ts';
import { alertsConfigSchema } from '../../../common/config/alerts.ts';
import { configureLogging, createLogger } from '../../../common/logger.ts';
import { createMetrics } from '../../../common/metrics.ts';
import { createAlertEngine } from './engine.ts';
import { type FlowSpec, owner, storeFlows } from './testing.ts';

/** What the benchmark measured. */
export interface AlertsBenchResult {
  flows: number;
  minutes: number;
  /** Flows inside one live tick's longest window (5 minutes). */
  flowsPerTickWindow: number;
  storeSeconds: number;
  /** One live tick: all seven built-in rules over their last window. */
  tickSeconds: number;
  tickRuleSeconds: Record<string, number>;
  /** Backfill of the whole span, windows every interval. */
  backfillSeconds: number;
  backfillWindows: number;
  incidents: number;
}

/** Runs the benchmark in a temporary chdb data directory (or `dataDir`). */
export async function benchAlerts(
  flows = 200_000,
  minutes = 60,
  dataDir?: string,
): Promise<AlertsBenchResult> {
  const S = 1_000_000_000n;
  const start = 1_714_557_600n * S;
  const spanNs = BigInt(minutes) * 60n * S;
  const dir = dataDir ?? mkdtempSync(path.join(tmpdir(), 'ft-alerts-bench-'));
  const store = await createChdbStore(dir, `bench_${Date.now()}`);
  try {
    await migrate(store);
    let seed = 42;
    const rnd = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) & 0x7fffffff;
      return seed % n;
    };
    const owners = Array.from({ length: 200 }, (_, i) =>
      owner(`tenant-${i % 50}`, `acct-${i % 80}`, `alloc-${i}`),
    );
    const specs: FlowSpec[] = [];
    for (let i = 0; i < flows; i++) {
      const o = owners[rnd(owners.length)]!;
      const t = start + (spanNs * BigInt(i)) / BigInt(flows);
      const r = rnd(100);
      const src = `10.${rnd(200)}.0.${rnd(250)}`;
      const dst = `198.51.${rnd(100)}.${rnd(250)}`;
      if (r < 80)
        specs.push({
          timeNs: t,
          src,
          dst,
          dport: [443, 80, 53][rnd(3)]!,
          flags: ['ACK', 'PSH'],
          srcOwner: o,
        });
      else if (r < 90)
        specs.push({
          timeNs: t,
          src: dst,
          dst: src,
          sport: 443,
          dport: 40_000,
          flags: ['SYN', 'ACK'],
          isReply: true,
          dstOwner: o,
        });
      else if (r < 95)
        specs.push({
          timeNs: t,
          src,
          dst,
          dport: 8080,
          flags: ['SYN'],
          verdict: 'DROPPED',
          dropReason: 'POLICY_DENIED',
          srcOwner: o,
          dstOwner: owners[rnd(owners.length)],
        });
      else
        specs.push({
          timeNs: t,
          src: dst,
          dst: src,
          sport: 443,
          dport: 40_000,
          flags: ['RST', 'ACK'],
          isReply: true,
          dstOwner: o,
        });
    }
    for (let m = 0; m < minutes; m += 10) {
      const t = start + BigInt(m) * 60n * S;
      const o = owners[m % owners.length]!;
      for (let h = 0; h < 30; h++)
        specs.push({
          timeNs: t + BigInt(h) * S,
          src: '10.9.9.9',
          dst: `203.0.113.${h}`,
          dport: 22,
          flags: ['SYN'],
          verdict: 'DROPPED',
          srcOwner: o,
        });
      for (let p = 0; p < 20; p++)
        specs.push({
          timeNs: t + BigInt(p) * S,
          src: '203.0.113.200',
          dst: '10.9.9.8',
          sport: 1000 + p,
          dport: 40_000,
          flags: ['RST', 'ACK'],
          isReply: true,
          dstOwner: o,
        });
      specs.push({
        timeNs: t,
        src: '10.9.9.7',
        dst: '198.51.100.25',
        dport: 25,
        flags: ['SYN'],
        srcOwner: o,
      });
      specs.push({
        timeNs: t,
        src: '10.9.9.7',
        dst: '169.254.169.254',
        dport: 80,
        flags: ['SYN'],
        srcOwner: o,
        dstOwner: { scope: 'metadata' },
      });
    }
    let t = performance.now();
    await storeFlows(store, specs);
    const storeSeconds = (performance.now() - t) / 1000;
    const end = start + spanNs;
    const engine = createAlertEngine(alertsConfigSchema.parse({ lagSeconds: 0 }), {
      store,
      logger: createLogger('bench'),
      metrics: createMetrics('alerts_bench'),
      now: () => end,
    });
    t = performance.now();
    const tick = await engine.tick();
    const tickSeconds = (performance.now() - t) / 1000;
    t = performance.now();
    const backfill = await engine.evaluateRange(start, end);
    const backfillSeconds = (performance.now() - t) / 1000;
    return {
      flows: specs.length,
      minutes,
      flowsPerTickWindow: Math.round((specs.length * 5) / minutes),
      storeSeconds,
      tickSeconds,
      tickRuleSeconds: tick?.ruleSeconds ?? {},
      backfillSeconds,
      backfillWindows: minutes,
      incidents: backfill.updates.length,
    };
  } finally {
    await store.close();
    if (!dataDir) rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  configureLogging({ level: 'warn' });
  const r = await benchAlerts(Number(process.argv[2] ?? 200_000), Number(process.argv[3] ?? 60));
  process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
}

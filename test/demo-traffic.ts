/**
 * Demo traffic for tests: minutes of the generator's traffic (with abuse bursts planted at chosen
 * minutes by chosen actors) attributed at ingest by the real enricher from Nomad-style ownership
 * intervals, which are also stored so query-time attribution and `who` see them. Used by the
 * browser tests' backend and the API's investigation tests, so both look at the same demo.
 * @module
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { createEnricher } from '../collector/src/enrich/index.ts';
import type { AbusePattern } from '../collector/src/generator/abuse.ts';
import { createGenerator } from '../collector/src/generator/generator.ts';
import type { Population, WorkloadEndpoint } from '../collector/src/generator/population.ts';
import { ingestFiles } from '../collector/src/ingest-files.ts';
import type { Store } from '../common/clickhouse/index.ts';
import { defaultTenancyConfig } from '../common/config/tenancy.ts';
import { createIntervalIndex } from '../common/ownership/interval-index.ts';
import { writeIntervals } from '../common/ownership/persistence.ts';
import { OPEN_END_NS, type OwnerInterval } from '../common/ownership/types.ts';
import { toHubbleJsonLine } from '../proto/src/hubble-json.ts';

/** Milliseconds to nanoseconds. */
export const ms2ns = (ms: number) => BigInt(Math.round(ms)) * 1_000_000n;

/** The ownership interval of demo endpoint number `i`, from `startMs` to `endNs` (open by default). */
export function demoInterval(
  ep: WorkloadEndpoint,
  i: number,
  startMs: number,
  endNs = OPEN_END_NS,
): OwnerInterval {
  return {
    address: ep.ip,
    kind: 'alloc',
    allocId: `${(0x1000_0000 + i).toString(16)}-aaaa-4bbb-8ccc-${String(i).padStart(12, '0')}`,
    allocName: `${ep.job}.${ep.group}[${i % 2}]`,
    namespace: ep.namespace,
    job: ep.job,
    group: ep.group,
    nodeId: `node-${ep.node}`,
    nodeName: ep.node,
    tenant: ep.tenant,
    account: ep.account,
    start: ms2ns(startMs),
    end: endNs,
    nomadIndex: BigInt(100 + i),
  };
}

/** Options of ingestDemoTraffic. */
export interface DemoTrafficOptions {
  /** Where the generated JSON lines file is written. */
  dir: string;
  population: Population;
  /** Ownership intervals: stored, and used by the enricher at ingest. */
  intervals: readonly OwnerInterval[];
  /** Start of the traffic (ms); one batch is generated per minute, at second 30. */
  sinceMs: number;
  minutes: number;
  /** Flows per minute (default 60). */
  perMinute?: number;
  /** Abuse planted before a minute's batch: [pattern, actor address or undefined for a random actor]. */
  abuse?: (minute: number) => readonly (readonly [AbusePattern, string | undefined])[];
  seed?: number;
}

/** Stores the intervals, generates the traffic and ingests it attributed; returns the file written. */
export async function ingestDemoTraffic(store: Store, o: DemoTrafficOptions): Promise<string> {
  await writeIntervals(store, [...o.intervals]);
  const index = createIntervalIndex();
  for (const iv of o.intervals) index.upsert(iv);
  const enricher = createEnricher(
    { tenancy: defaultTenancyConfig },
    {
      ownership: {
        allocAt: (ip, t) => index.lookup(ip, t),
        nodeAt: () => undefined,
        namespaceTenancy: () => undefined,
      },
    },
  );
  let clock = o.sinceMs;
  const gen = createGenerator({ seed: o.seed ?? 42 }, { population: o.population, now: () => clock });
  const lines: string[] = [];
  for (let minute = 0; minute < o.minutes; minute++) {
    clock = o.sinceMs + minute * 60_000 + 30_000;
    for (const [pattern, actorIp] of o.abuse?.(minute) ?? [])
      gen.injectAbuse(pattern, actorIp === undefined ? undefined : { actorIp });
    for (const ev of gen.take(o.perMinute ?? 60))
      if (ev.kind === 'flow') lines.push(toHubbleJsonLine(ev.response));
  }
  const file = path.join(o.dir, 'demo.jsonl');
  writeFileSync(file, `${lines.join('\n')}\n`);
  await ingestFiles({
    store,
    files: [file],
    attribute: (f) => enricher.enrich(f),
  });
  return file;
}

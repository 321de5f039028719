/**
 * The embedded backend the browser tests drive: a chdb store on a temp dir with migrations, the
 * real Hubble fixtures imported through ingestFiles, an hour of generated demo traffic (with
 * abuse bursts) attributed by the real enricher from Nomad-style ownership intervals that are
 * also stored for the attribution API, the query API app, and the built UI served at `/`.
 * @module
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import express from 'express';
import { createEnricher } from '../../collector/src/enrich/index.ts';
import { createGenerator } from '../../collector/src/generator/generator.ts';
import { createStaticPopulation, type WorkloadEndpoint } from '../../collector/src/generator/population.ts';
import { ingestFiles } from '../../collector/src/ingest-files.ts';
import { createChdbStore } from '../../common/clickhouse/chdb-store.ts';
import type { Store } from '../../common/clickhouse/index.ts';
import { migrate } from '../../common/clickhouse/migrator.ts';
import { apiConfigSchema } from '../../common/config/api.ts';
import { defaultTenancyConfig } from '../../common/config/tenancy.ts';
import { createLogger } from '../../common/logger.ts';
import { createIntervalIndex } from '../../common/ownership/interval-index.ts';
import { writeIntervals } from '../../common/ownership/persistence.ts';
import { OPEN_END_NS, type OwnerInterval } from '../../common/ownership/types.ts';
import { who } from '../../common/ownership/who.ts';
import { hubbleFixtureFiles } from '../../common/testing/fixtures.ts';
import { toHubbleJsonLine } from '../../proto/src/hubble-json.ts';
import { createAlerts, defaultAlertsConfig } from '../../query-api/src/alerts/index.ts';
import { mountApi } from '../../query-api/src/app.ts';
import type { WhoAnswer } from '../../query-api/src/deps.ts';
import { ensureUiBuilt, uiStaticDir } from '../../ui/serve.ts';

/** Tokens the tests sign in with (their SHA-256 is what the API is configured with). */
export const testTokens = {
  admin: 'ui-test-admin-token',
  sre: 'ui-test-sre-token',
} as const;

/** A running backend. */
export interface UiBackend {
  url: string;
  store: Store;
  /** The reused address: held by `previous` before `reuseAtMs`, by its demo owner after. */
  reused: {
    ip: string;
    owner: WorkloadEndpoint;
    previous: { tenant: string; account: string };
    reuseAtMs: number;
  };
  /** Start of the generated traffic (ms). */
  demoSinceMs: number;
  close(): Promise<void>;
}

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const ms2ns = (ms: number) => BigInt(Math.round(ms)) * 1_000_000n;

function interval(ep: WorkloadEndpoint, i: number, startMs: number, endNs = OPEN_END_NS): OwnerInterval {
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

/** Starts the backend; `close()` stops the server and removes the data directory. */
export async function startUiBackend(): Promise<UiBackend> {
  const dir = mkdtempSync(path.join(tmpdir(), 'flowtrail-ui-'));
  const store = await createChdbStore(path.join(dir, 'data'), 'ui_test');
  await migrate(store);

  // Ownership: every demo allocation holds its address for the last two hours; the first
  // address was held by another tenant's allocation for the hour before (address reuse).
  const now = Date.now();
  const demoSinceMs = now - 60 * 60_000;
  const population = createStaticPopulation();
  const endpoints = population.endpoints();
  const intervals = endpoints.map((ep, i) => interval(ep, i, now - 2 * 3_600_000));
  const first = endpoints[0]!;
  const other = endpoints.find((e) => e.tenant !== first.tenant)!;
  const reuseAtMs = now - 2 * 3_600_000;
  intervals.push({
    ...interval({ ...other, ip: first.ip }, 900, now - 3 * 3_600_000, ms2ns(reuseAtMs)),
    allocName: `${other.job}.${other.group}[9]`,
  });
  await writeIntervals(store, intervals);
  const index = createIntervalIndex();
  for (const iv of intervals) index.upsert(iv);
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

  // An hour of demo traffic, 60 flows a minute, with abuse bursts from the reused address.
  let clock = demoSinceMs;
  const gen = createGenerator({ seed: 42 }, { population, now: () => clock });
  const lines: string[] = [];
  for (let minute = 0; minute < 60; minute++) {
    clock = demoSinceMs + minute * 60_000 + 30_000;
    if (minute % 15 === 5) gen.injectAbuse('address-scan', { actorIp: first.ip });
    if (minute === 20) gen.injectAbuse('metadata-probe');
    if (minute === 40) gen.injectAbuse('smtp-egress');
    for (const ev of gen.take(60)) if (ev.kind === 'flow') lines.push(toHubbleJsonLine(ev.response));
  }
  const demoFile = path.join(dir, 'demo.jsonl');
  writeFileSync(demoFile, `${lines.join('\n')}\n`);
  await ingestFiles({ store, files: hubbleFixtureFiles() });
  await ingestFiles({
    store,
    files: [demoFile],
    attribute: (f) =>
      enricher.enrich({
        timeNs: f.timeNs,
        sourceIp: f.flow.IP?.source ?? '',
        destinationIp: f.flow.IP?.destination ?? '',
        sourceLabels: f.flow.source?.labels ?? [],
        destinationLabels: f.flow.destination?.labels ?? [],
      }),
  });

  await ensureUiBuilt();
  const logger = createLogger('ui-test');
  const auth = { mode: 'tokens' as const };
  const tokens = [
    { name: 'ui-admin', role: 'admin' as const, sha256: sha(testTokens.admin) },
    { name: 'ui-sre', role: 'sre' as const, sha256: sha(testTokens.sre) },
  ];
  // The alert rules run over the stored hour so the Alerts page and the overview have incidents.
  const alerts = createAlerts(defaultAlertsConfig, { store, logger });
  await alerts.engine.evaluateRange(ms2ns(demoSinceMs - 60_000), ms2ns(Date.now()), { persist: true });
  const app = express();
  mountApi(app, {
    store,
    logger,
    api: apiConfigSchema.parse({}),
    auth,
    tokens,
    // who() answers the OWNER shape; deps.ts types it loosely (index signature), hence the cast.
    attribution: async (ip, at) => (await who(store, ip, at)) as unknown as WhoAnswer,
    alerts: alerts.router,
  });
  app.use(express.static(uiStaticDir()));
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    store,
    reused: {
      ip: first.ip,
      owner: first,
      previous: { tenant: other.tenant, account: other.account },
      reuseAtMs,
    },
    demoSinceMs,
    async close() {
      await new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections?.();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

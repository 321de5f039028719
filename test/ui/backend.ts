/**
 * The embedded backend the browser tests drive: a chdb store on a temp dir with migrations, the
 * real Hubble fixtures imported through ingestFiles, an hour of generated demo traffic (with
 * abuse bursts) attributed by the real enricher from Nomad-style ownership intervals that are
 * also stored for the attribution API, the query API app, and the built UI served at `/`.
 * @module
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createStaticPopulation, type WorkloadEndpoint } from '../../collector/src/generator/population.ts';
import { ingestFiles } from '../../collector/src/ingest-files.ts';
import { createChdbStore } from '../../common/clickhouse/chdb-store.ts';
import type { Store } from '../../common/clickhouse/index.ts';
import { migrate } from '../../common/clickhouse/migrator.ts';
import { apiConfigSchema } from '../../common/config/api.ts';
import { createLogger } from '../../common/logger.ts';
import { createMetricsRegistry } from '../../common/metrics.ts';
import { who } from '../../common/ownership/who.ts';
import { hubbleFixtureFiles } from '../../common/testing/fixtures.ts';
import { defaultAlertsConfig } from '../../query-api/src/alerts/index.ts';
import type { WhoAnswer } from '../../query-api/src/deps.ts';
import { createQueryService } from '../../query-api/src/service.ts';
import { loopbackListen } from '../../query-api/src/testing.ts';
import { ensureUiBuilt } from '../../ui/serve.ts';
import { demoInterval, ingestDemoTraffic, ms2ns } from '../demo-traffic.ts';

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
  const intervals = endpoints.map((ep, i) => demoInterval(ep, i, now - 2 * 3_600_000));
  const first = endpoints[0]!;
  const other = endpoints.find((e) => e.tenant !== first.tenant)!;
  const reuseAtMs = now - 2 * 3_600_000;
  intervals.push({
    ...demoInterval({ ...other, ip: first.ip }, 900, now - 3 * 3_600_000, ms2ns(reuseAtMs)),
    allocName: `${other.job}.${other.group}[9]`,
  });
  await ingestFiles({ store, files: hubbleFixtureFiles() });
  // An hour of demo traffic, 60 flows a minute, with abuse bursts from the reused address.
  await ingestDemoTraffic(store, {
    dir,
    population,
    intervals,
    sinceMs: demoSinceMs,
    minutes: 60,
    abuse: (minute) => [
      ...(minute % 15 === 5 ? [['address-scan', first.ip] as const] : []),
      ...(minute === 20 ? [['metadata-probe', undefined] as const] : []),
      ...(minute === 40 ? [['smtp-egress', undefined] as const] : []),
    ],
  });

  await ensureUiBuilt();
  const logger = createLogger('ui-test');
  const auth = { mode: 'tokens' as const };
  const tokens = [
    { name: 'ui-admin', role: 'admin' as const, sha256: sha(testTokens.admin) },
    { name: 'ui-sre', role: 'sre' as const, sha256: sha(testTokens.sre) },
  ];
  // The same query service graph `flowtrail start` and `flowtrail api` run, UI included.
  const service = createQueryService({
    store,
    logger,
    config: { api: apiConfigSchema.parse({}), auth, tokens, alerts: defaultAlertsConfig },
    metrics: createMetricsRegistry(),
    // who() answers the OWNER shape; deps.ts types it loosely (index signature), hence the cast.
    attribution: async (ip, at) => (await who(store, ip, at)) as unknown as WhoAnswer,
    runAlerts: false,
  });
  // The alert rules run over the stored hour so the Alerts page and the overview have incidents.
  await service.alerts.engine.evaluateRange(ms2ns(demoSinceMs - 60_000), ms2ns(Date.now()), {
    persist: true,
  });
  const running = await service.start(loopbackListen);
  return {
    url: running.url,
    store,
    reused: {
      ip: first.ip,
      owner: first,
      previous: { tenant: other.tenant, account: other.account },
      reuseAtMs,
    },
    demoSinceMs,
    async close() {
      await service.stop();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

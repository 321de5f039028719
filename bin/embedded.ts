/**
 * The embedded product (`flowtrail start`): one process owning a chdb data directory (or a
 * ClickHouse server with CLICKHOUSE_URL) that runs the collector, the ownership tracker, the
 * query API with the UI, the Hubble API over history and the alert engine. With no
 * HUBBLE_SERVER it also runs the demo: a Nomad API stand-in driving allocation churn across
 * tenants and the traffic generator labelling flows from the same allocations, with abuse.
 *
 * This is the one wiring file: components are created and started in dependency order here and
 * stopped in reverse.
 * @module
 */
import { createAttribution } from '../collector/src/attribution.ts';
import { createCollector, defaultCollectorConfig } from '../collector/src/collector.ts';
import type { AbusePattern } from '../collector/src/generator/abuse.ts';
import { createGenerator } from '../collector/src/generator/generator.ts';
import { createObserverServer } from '../collector/src/generator/observer-server.ts';
import type { Population, WorkloadEndpoint } from '../collector/src/generator/population.ts';
import { nomadConfigFromEnv } from '../collector/src/nomad/config.ts';
import { createScenario } from '../collector/src/nomad-standin/scenario.ts';
import { createNomadStandin } from '../collector/src/nomad-standin/server.ts';
import { hubbleTlsFromEnv, parseHubbleTargets } from '../collector/src/sources/hubble-target.ts';
import { openStore, storeConfigOf } from '../common/clickhouse/index.ts';
import { migrate } from '../common/clickhouse/migrator.ts';
import { loadServiceConfig, type RawEnv } from '../common/config/env.ts';
import { createLogger } from '../common/logger.ts';
import { createMetricsRegistry } from '../common/metrics.ts';
import { attributionLookup } from '../common/ownership/who.ts';
import { listenConfigOf } from '../query-api/src/main.ts';
import { createQueryService } from '../query-api/src/service.ts';

/** The running product. */
export interface Embedded {
  /** Base URL of the API and UI. */
  url: string;
  /** Port of the Hubble Observer API over stored history. */
  grpcPort: number;
  /** True when the built-in demo feeds it. */
  demo: boolean;
  stop(): Promise<void>;
}

/** Abuse the demo traffic carries, so the alert rules fire in the demo. */
const demoAbuse: readonly AbusePattern[] = ['address-scan', 'smtp-egress', 'metadata-probe', 'port-scan'];

/** Starts everything; resolves once the API answers. */
export async function startEmbedded(raw: RawEnv): Promise<Embedded> {
  const logger = createLogger('flowtrail');
  const registry = createMetricsRegistry();
  const metrics = registry.component('collector');
  const demo = !raw['HUBBLE_SERVER'];
  // The demo is for a newcomer on localhost: open access unless a config or mode says otherwise.
  const openDemo = demo && !raw['FLOWTRAIL_CONFIG'] && !raw['FLOWTRAIL_AUTH_MODE'];
  const loaded = loadServiceConfig(openDemo ? { ...raw, FLOWTRAIL_AUTH_MODE: 'open' } : raw);
  const { config, env } = loaded;
  const listen = listenConfigOf(loaded);
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.reverse())
      await stop().catch((err) => logger.warn('stop failed', { error: String(err) }));
  };

  try {
    const storeConfig = storeConfigOf(env);
    const store = await openStore(storeConfig);
    stops.push(() => store.close());
    await migrate(store, { ttlDays: env.FLOWTRAIL_TTL_DAYS });

    // Demo sources: the Nomad stand-in with churn, and the traffic generator over its allocations.
    let nomadConfig = nomadConfigFromEnv(env);
    let targets: string[];
    // The demo's Hubble runs on this event loop: a stall stalls the source too, so a reader
    // thread gains nothing there (and a reader thread against a server on a saturated loop of the
    // same process was seen to stop receiving; see collector.ts readInThread).
    let readInThread = true;
    if (demo) {
      const scenario = createScenario({
        tenants: 4,
        jobsPerTenant: 2,
        churnPerMinute: 12,
        addressPool: '10.42.8.0/26',
      });
      const standin = createNomadStandin({ state: scenario.state });
      const nomadUrl = await standin.listen(0, '127.0.0.1');
      scenario.start();
      stops.push(async () => {
        scenario.stop();
        await standin.close();
      });
      nomadConfig = nomadConfigFromEnv({ NOMAD_ADDR: nomadUrl });
      const population = scenarioPopulation(() => scenario.running());
      const generator = createGenerator(
        { rate: env.FLOWTRAIL_DEMO_RATE, abuse: demoAbuse, abuseIntervalMs: 5_000 },
        { population },
      );
      const observer = createObserverServer({ listen: '127.0.0.1:0', supply: generator });
      targets = [await observer.start()];
      readInThread = false;
      await generator.start();
      stops.push(async () => {
        await generator.stop();
        await observer.stop(500);
      });
      logger.warn('no HUBBLE_SERVER: running the built-in demo (generated Hubble traffic, Nomad stand-in)', {
        hubble: targets[0],
        nomad: nomadUrl,
      });
    } else {
      targets = parseHubbleTargets(env.HUBBLE_SERVER ?? '');
    }

    // Who owned which address when: Nomad when configured, else what earlier runs stored.
    const attribution = createAttribution({
      tenancy: config.tenancy,
      store,
      nomad: nomadConfig,
      logger,
      metrics,
    });
    await attribution.start();
    stops.push(() => attribution.stop());
    const attribute = attribution.attribute;

    const collector = createCollector(
      { ...defaultCollectorConfig, targets, tls: hubbleTlsFromEnv(env), readInThread },
      { store, logger: logger.child('collector'), metrics, attribute },
    );
    await collector.start();
    stops.push(() => collector.stop());

    // The demo evaluates every 10 s so a newcomer sees its abuse turn into incidents quickly.
    const alerts = openDemo ? { ...config.alerts, intervalSeconds: 10, lagSeconds: 5 } : config.alerts;
    const service = createQueryService({
      store,
      logger,
      config: { ...config, alerts },
      metrics: registry,
      attribution: (ip, atNs) => attributionLookup(store, { ip, at: atNs.toString() }),
      status: () => ({ demo, collector: collector.status(), ownership: attribution.stats() }),
      secrets: loaded.secrets,
    });
    const running = await service.start(listen);
    stops.push(() => service.stop());

    const url = running.url;
    logger.info('flowtrail is running', {
      ui: url,
      hubble_api: `${listen.grpcTls.kind === 'tls' ? 'tls://' : ''}${listen.grpcHost}:${running.grpcPort}`,
      storage: store.kind === 'chdb' ? `chdb ${storeConfig.dataDir}` : 'clickhouse server',
      sources: targets,
      auth: config.auth.mode,
    });
    return { url, grpcPort: running.grpcPort, demo, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** The generator's view of the stand-in's running allocations (same array while nothing changed). */
function scenarioPopulation(
  running: () => readonly {
    address: string;
    tenant: string;
    account: string;
    namespace: string;
    job: string;
    group: string;
    node: string;
    labels: readonly string[];
  }[],
): Population {
  let key = '';
  let endpoints: WorkloadEndpoint[] = [];
  return {
    endpoints() {
      const now = running();
      const k = now.map((w) => w.address + w.job).join(',');
      if (k !== key) {
        key = k;
        endpoints = now.map((w) => ({
          ip: w.address,
          tenant: w.tenant,
          account: w.account,
          namespace: w.namespace,
          job: w.job,
          group: w.group,
          node: w.node,
          labels: w.labels,
        }));
      }
      return endpoints;
    },
  };
}

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
import type { Server } from 'node:http';
import express from 'express';
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
import { openStore, storeConfigFromEnv } from '../common/clickhouse/index.ts';
import { migrate } from '../common/clickhouse/migrator.ts';
import { loadConfig } from '../common/config/load.ts';
import { ConfigError } from '../common/errors.ts';
import { createLogger } from '../common/logger.ts';
import { createMetrics } from '../common/metrics.ts';
import { attributionLookup } from '../common/ownership/who.ts';
import { createAlerts } from '../query-api/src/alerts/index.ts';
import { mountApi } from '../query-api/src/app.ts';
import type { ApiDeps } from '../query-api/src/deps.ts';
import { createGrpcServer } from '../query-api/src/grpc/server.ts';
import { grpcTlsFromEnv } from '../query-api/src/grpc/tls.ts';
import { ensureUiBuilt, uiStaticDir } from '../ui/serve.ts';

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

function port(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const v = env[name];
  if (v === undefined || v === '') return fallback;
  if (!/^\d{1,5}$/.test(v) || Number(v) > 65535)
    throw new ConfigError(`${name} must be a port number, got "${v}"`);
  return Number(v);
}

/** Starts everything; resolves once the API answers. */
export async function startEmbedded(env: NodeJS.ProcessEnv = process.env): Promise<Embedded> {
  const logger = createLogger('flowtrail');
  const metrics = createMetrics('collector');
  const demo = !env['HUBBLE_SERVER'];
  const host = env['FLOWTRAIL_HTTP_HOST'] || '127.0.0.1';
  const httpPort = port(env, 'FLOWTRAIL_HTTP_PORT', 8080);
  const grpcPort = port(env, 'FLOWTRAIL_GRPC_PORT', 4245);
  const grpcTls = grpcTlsFromEnv(env);
  // The demo is for a newcomer on localhost: open access unless a config or mode says otherwise.
  const openDemo = demo && !env['FLOWTRAIL_CONFIG'] && !env['FLOWTRAIL_AUTH_MODE'];
  const { config } = loadConfig(openDemo ? { ...env, FLOWTRAIL_AUTH_MODE: 'open' } : env);
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.reverse())
      await stop().catch((err) => logger.warn('stop failed', { error: String(err) }));
  };

  try {
    const storeConfig = storeConfigFromEnv(env);
    const store = await openStore(storeConfig);
    stops.push(() => store.close());
    await migrate(store);

    // Demo sources: the Nomad stand-in with churn, and the traffic generator over its allocations.
    let nomadConfig = nomadConfigFromEnv(env);
    let targets: string[];
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
        { rate: Number(env['FLOWTRAIL_DEMO_RATE'] || 200), abuse: demoAbuse, abuseIntervalMs: 5_000 },
        { population },
      );
      const observer = createObserverServer({ listen: '127.0.0.1:0', supply: generator });
      targets = [await observer.start()];
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
      targets = parseHubbleTargets(env['HUBBLE_SERVER'] ?? '');
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
      { ...defaultCollectorConfig, targets, tls: hubbleTlsFromEnv(env) },
      { store, logger: logger.child('collector'), metrics, attribute },
    );
    await collector.start();
    stops.push(() => collector.stop());

    // The demo evaluates every 10 s so a newcomer sees its abuse turn into incidents quickly.
    const alertsConfig = openDemo ? { ...config.alerts, intervalSeconds: 10, lagSeconds: 5 } : config.alerts;
    const alerts = createAlerts(alertsConfig, { store, logger: logger.child('alerts'), env });
    if (config.alerts.enabled) {
      alerts.start();
      stops.push(() => alerts.stop());
    }

    const deps: ApiDeps = {
      store,
      logger: logger.child('api'),
      api: config.api,
      auth: config.auth,
      tokens: config.tokens,
      attribution: (ip, atNs) => attributionLookup(store, { ip, at: atNs.toString() }),
      alerts: alerts.router,
      // Served by the API behind the api.ops guard (admin/sre by default).
      status: () => ({ demo, collector: collector.status(), ownership: attribution.stats() }),
    };
    const app = express();
    app.disable('x-powered-by');
    mountApi(app, deps);
    await ensureUiBuilt();
    app.use(express.static(uiStaticDir(), { index: 'index.html', maxAge: '1h' }));
    app.use((req, res, next) => {
      // Client-side routes of the UI all load index.html.
      if (req.method === 'GET' && !req.path.startsWith('/api/'))
        res.sendFile('index.html', { root: uiStaticDir() });
      else next();
    });
    const http = await new Promise<Server>((resolve, reject) => {
      const s = app.listen(httpPort, host, (err?: Error) => (err ? reject(err) : resolve(s)));
    });
    stops.push(() => new Promise<void>((resolve) => http.close(() => resolve())));
    const grpc = await createGrpcServer(deps).listen(host, grpcPort, grpcTls);
    stops.push(() => grpc.close());

    const url = `http://${host}:${(http.address() as { port: number }).port}`;
    logger.info('flowtrail is running', {
      ui: url,
      hubble_api: `${grpcTls.kind === 'tls' ? 'tls://' : ''}${host}:${grpc.port}`,
      storage: store.kind === 'chdb' ? `chdb ${storeConfig.dataDir}` : 'clickhouse server',
      sources: targets,
      auth: config.auth.mode,
    });
    return { url, grpcPort: grpc.port, demo, stop: stopAll };
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

/**
 * Test helpers for the query API (never imported by production code): a real chdb store in a
 * temporary directory with a random database, the shared Hubble fixtures imported through the
 * collector's ingest path with a synthetic attribution (two tenants sharing address ranges),
 * and the HTTP and gRPC servers listening on loopback port 0.
 * @module
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { ingestFiles } from '../../collector/src/ingest-files.ts';
import { createChdbStore } from '../../common/clickhouse/chdb-store.ts';
import type { Store } from '../../common/clickhouse/index.ts';
import { migrate } from '../../common/clickhouse/migrator.ts';
import { parseConfig } from '../../common/config/load.ts';
import { type EndAttribution, unattributed } from '../../common/flow/attribution.ts';
import type { IngestedFlow } from '../../common/flow/model.ts';
import { createLogger } from '../../common/logger.ts';
import { createMetricsRegistry } from '../../common/metrics.ts';
import { who } from '../../common/ownership/who.ts';
import { hubbleFixtureFiles } from '../../common/testing/fixtures.ts';
import { GetFlowsRequest, type GetFlowsResponse, type ObserverClient } from '../../proto/src/grpc.ts';
import type { Alerts } from './alerts/index.ts';
import type { AuditLog } from './audit/audit-log.ts';
import { hashToken } from './auth/tokens.ts';
import type { QueryCore } from './core.ts';
import type { ApiDeps } from './deps.ts';
import { plaintextGrpc } from './grpc/tls.ts';
import { createQueryService, type ListenConfig, type QueryService } from './service.ts';

/** The tokens a test server accepts: name → token text. */
export const testTokens = {
  admin: 'tok-admin-0123456789',
  investigator: 'tok-investigator-0123456789',
  sre: 'tok-sre-0123456789',
  acme: 'tok-acme-0123456789',
  globex: 'tok-globex-0123456789',
} as const;

/** Synthetic owners by /24: fixture addresses split between two tenants (and nobody). */
export const testOwners: Readonly<Record<string, Partial<EndAttribution>>> = {
  '10.244.0': {
    tenant: 'acme',
    account: 'acme-1',
    job: 'web',
    namespace: 'default',
    allocId: 'aaaaaaaa-0000-0000-0000-000000000001',
    allocName: 'web.app[0]',
    node: 'n1',
  },
  '10.244.1': {
    tenant: 'globex',
    account: 'globex-1',
    job: 'api',
    namespace: 'default',
    allocId: 'bbbbbbbb-0000-0000-0000-000000000001',
    allocName: 'api.app[0]',
    node: 'n2',
  },
  '10.156.2': {
    tenant: 'acme',
    account: 'acme-2',
    job: 'dns',
    namespace: 'infra',
    allocId: 'aaaaaaaa-0000-0000-0000-000000000002',
    allocName: 'dns.app[0]',
    node: 'n3',
  },
};

/** The synthetic owner of an address (what the test enricher stamps). */
export function testOwnerOf(ip: string | undefined): Partial<EndAttribution> | undefined {
  return ip ? testOwners[ip.split('.').slice(0, 3).join('.')] : undefined;
}

function end(ip: string | undefined): EndAttribution {
  const o = testOwnerOf(ip);
  return o
    ? { ...unattributed, ...o, group: 'g', source: 'ownership', scope: 'private' }
    : { ...unattributed };
}

/** The test enricher: both ends from testOwners. */
export function testAttribute(f: IngestedFlow) {
  return { source: end(f.sourceIp), destination: end(f.destinationIp), conflict: '' };
}

/** A running test API. */
export interface TestApi {
  url: string;
  grpcAddress: string;
  store: Store;
  deps: ApiDeps;
  auditLog: AuditLog;
  /** The alert engine and routes (mounted at /api/v1/alerts, never started: tests evaluate ranges). */
  alerts: Alerts;
  /** The shared authenticator, audit log and admission (extra gRPC servers in tests reuse it). */
  core: QueryCore;
  service: QueryService;
  close(): Promise<void>;
}

const dirs = new Map<string, string>();

/** Loopback, both ports picked by the OS, plaintext gRPC: how every test starts a query service. */
export const loopbackListen: ListenConfig = Object.freeze({
  host: '127.0.0.1',
  port: 0,
  grpcHost: '127.0.0.1',
  grpcPort: 0,
  grpcTls: plaintextGrpc,
});

/** Starts an API over the fixtures in a fresh database (one chdb directory per test file). */
export async function startTestApi(
  opts: { config?: unknown; ingest?: boolean; dataDir?: string; status?: () => unknown } = {},
): Promise<TestApi> {
  const dir = opts.dataDir ?? dirs.get('default') ?? mkdtempSync(path.join(tmpdir(), 'ft-api-'));
  dirs.set('default', dir);
  const store = await createChdbStore(dir, `t_${Math.random().toString(36).slice(2, 10)}`);
  await migrate(store);
  if (opts.ingest !== false)
    await ingestFiles({ store, files: hubbleFixtureFiles(), attribute: testAttribute });
  const config = parseConfig({
    tokens: [
      { name: 'admin', role: 'admin', sha256: hashToken(testTokens.admin) },
      { name: 'investigator', role: 'investigator', sha256: hashToken(testTokens.investigator) },
      { name: 'sre', role: 'sre', sha256: hashToken(testTokens.sre) },
      { name: 'acme', role: 'tenant', tenant: 'acme', sha256: hashToken(testTokens.acme) },
      { name: 'globex', role: 'tenant', tenant: 'globex', sha256: hashToken(testTokens.globex) },
    ],
    api: {
      limits: { maxRangeHours: 24 * 365 * 100, maxUnboundedRangeHours: 24 * 365 * 100 },
      followPollMs: 100,
    },
    ...(opts.config as object),
  });
  const logger = createLogger('test-api');
  const deps: ApiDeps = {
    store,
    logger,
    api: config.api,
    auth: config.auth,
    tokens: config.tokens,
    attribution: (ip, atNs) => who(store, ip, atNs),
  };
  // The same service graph `flowtrail api` runs, without the UI; the alert engine and routes are
  // there but never started (tests evaluate ranges).
  const service = createQueryService({
    store,
    logger,
    config,
    metrics: createMetricsRegistry(),
    ...(deps.attribution ? { attribution: deps.attribution } : {}),
    ...(opts.status ? { status: opts.status as () => Record<string, unknown> } : {}),
    ui: false,
    runAlerts: false,
  });
  const running = await service.start(loopbackListen);
  return {
    url: running.url,
    grpcAddress: `127.0.0.1:${running.grpcPort}`,
    store,
    deps: { ...deps, alerts: service.alerts.router },
    auditLog: service.core.auditLog,
    alerts: service.alerts,
    core: service.core,
    service,
    async close() {
      await service.stop();
      await store.command(`DROP DATABASE IF EXISTS ${store.database}`).catch(() => {});
      await store.close();
    },
  };
}

/** GET with a token; returns status and parsed JSON (or text). */
export async function get(
  api: TestApi,
  pathAndQuery: string,
  token?: string,
  headers: Record<string, string> = {},
) {
  const res = await fetch(`${api.url}${pathAndQuery}`, {
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
  });
  const text = await res.text();
  let body: unknown = text;
  if ((res.headers.get('content-type') ?? '').includes('application/json')) body = JSON.parse(text);
  return { status: res.status, body, text, headers: res.headers };
}

/** POST JSON with a token. */
export async function post(api: TestApi, p: string, json: unknown, token?: string) {
  const res = await fetch(`${api.url}${p}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(json),
  });
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text) as Record<string, unknown> };
}

/** gRPC metadata carrying `token` as a bearer token. */
export function bearer(token: string): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set('authorization', `Bearer ${token}`);
  return md;
}

/**
 * Calls GetFlows as `token` and collects the responses until the stream ends, or until `max` of
 * them (then cancels). `error` is the call's error; a clean end or that cancel has none.
 */
export function getFlowsAs(
  client: ObserverClient,
  req: Partial<GetFlowsRequest>,
  token: string,
  max = Number.POSITIVE_INFINITY,
): Promise<{ flows: GetFlowsResponse[]; error?: grpc.ServiceError }> {
  return new Promise((resolve) => {
    const flows: GetFlowsResponse[] = [];
    const call = client.getFlows(GetFlowsRequest.fromPartial(req), bearer(token));
    call.on('data', (r: GetFlowsResponse) => {
      flows.push(r);
      if (flows.length >= max) call.cancel();
    });
    call.on('error', (error: grpc.ServiceError) =>
      resolve({ flows, ...(error.code === grpc.status.CANCELLED ? {} : { error }) }),
    );
    call.on('end', () => resolve({ flows }));
  });
}

/**
 * Every ingest path attributes at ingest, and late ownership reaches aggregates (issue 12.3,
 * 12.4): a scenario of planted abuse (address scan, metadata probe, SMTP egress, as
 * collector/src/generator/abuse.ts shapes them) by an allocation of the Nomad stand-in's
 * scenario, with the stand-in's event stream as a capture. Imported Nomad-events-first
 * (`import-nomad-events` then `import`: attributed at ingest) and flows-first (`import` then
 * `import-nomad-events`: corrected by the late-owner job), both give the planted incidents from
 * the alert engine (what `flowtrail alerts evaluate` runs) and non-zero tenant counts in the
 * minute rollup the dashboards read, and an investigation of a scanned victim (outside our
 * address space) ranks the scanning allocation first. Flows that carry netreap `nomad:` labels
 * and no ownership at all are attributed from the labels at import. Real chdb.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importNomadEvents } from '../bin/commands/import-nomad-events.ts';
import { ADDRESS_SCAN_HOSTS } from '../collector/src/generator/abuse.ts';
import { METADATA_IP } from '../collector/src/generator/world.ts';
import { ingestFiles } from '../collector/src/ingest-files.ts';
import { encodeGo } from '../collector/src/nomad-standin/encode.ts';
import { createScenario, type RunningWorkload } from '../collector/src/nomad-standin/scenario.ts';
import { createChdbStore } from '../common/clickhouse/chdb-store.ts';
import { migrate } from '../common/clickhouse/migrator.ts';
import type { Store } from '../common/clickhouse/store.ts';
import { defaultAlertsConfig } from '../common/config/alerts.ts';
import { defaultTenancyConfig } from '../common/config/tenancy.ts';
import { configureLogging } from '../common/logger.ts';
import { createMetrics } from '../common/metrics.ts';
import { formatTimeNs } from '../common/time.ts';
import { createAlertEngine } from '../query-api/src/alerts/engine.ts';
import { openModePrincipal } from '../query-api/src/auth/principal.ts';
import { investigationRequestSchema, runInvestigation } from '../query-api/src/queries/investigations.ts';

const S = 1_000_000_000n;
const dir = mkdtempSync(path.join(tmpdir(), 'ft-import-attr-'));
let actor: RunningWorkload;
let captureFile: string;
let flowsFile: string;
let fromNs: bigint;
let toNs: bigint;

function line(t: bigint, dst: string, port: number, verdict = 'FORWARDED', labels?: string[]): string {
  const time = formatTimeNs(t);
  return JSON.stringify({
    flow: {
      time,
      uuid: `00000000-0000-4000-8000-${(t % 1_000_000_000_000n).toString().padStart(12, '0')}`,
      verdict,
      IP: { source: actor.address, destination: dst, ipVersion: 'IPv4' },
      ...(labels ? { source: { labels } } : {}),
      l4: { TCP: { source_port: 40000, destination_port: port, flags: { SYN: true } } },
      Type: 'L3_L4',
      node_name: `k/${actor.node}`,
      event_type: { type: verdict === 'DROPPED' ? 1 : 4 },
      traffic_direction: 'EGRESS',
      is_reply: false,
    },
    node_name: `k/${actor.node}`,
    time,
  });
}

beforeAll(() => {
  configureLogging({ level: 'error' });
  const scenario = createScenario({ tenants: 3, addressPool: '10.44.0.0/29', running: 4, seed: 11 });
  scenario.setup();
  for (let i = 0; i < 4; i++) scenario.step();
  actor = scenario.running()[0]!;
  // The stand-in's event stream, as `curl /v1/event/stream` would have captured it.
  captureFile = path.join(dir, 'events.ndjson');
  writeFileSync(
    captureFile,
    `${scenario.state.buffer.map((f) => encodeGo({ Events: f.Events, Index: f.Index })).join('\n')}\n`,
  );
  // The planted abuse, without netreap labels: only the ownership table can name the actor.
  const t0 = actor.since + 5n * S;
  const lines: string[] = [];
  for (let i = 0; i < ADDRESS_SCAN_HOSTS; i++)
    lines.push(line(t0 + BigInt(i) * S, `203.0.113.${10 + i}`, 22, 'DROPPED'));
  lines.push(line(t0 + 40n * S, METADATA_IP, 80));
  lines.push(line(t0 + 41n * S, '198.51.100.25', 25));
  flowsFile = path.join(dir, 'flows.json');
  writeFileSync(flowsFile, `${lines.join('\n')}\n`);
  fromNs = actor.since - 60n * S;
  toNs = t0 + 120n * S;
});

async function freshStore(name: string): Promise<Store> {
  const store = await createChdbStore(path.join(dir, 'chdb'), name);
  await migrate(store);
  return store;
}

async function expectPlanted(store: Store): Promise<void> {
  const engine = createAlertEngine(defaultAlertsConfig, {
    store,
    logger: { debug() {}, info() {}, warn() {}, error() {}, child: () => ({}) as never },
    metrics: createMetrics('import_attr_test'),
  });
  const result = await engine.evaluateRange(fromNs, toNs, { persist: false });
  const incidents = result.updates.map((u) => u.incident);
  const rules = new Set(incidents.map((i) => i.rule));
  expect(rules).toEqual(new Set(['address-scan', 'metadata-access', 'smtp-egress']));
  for (const i of incidents) expect(i).toMatchObject({ tenant: actor.tenant, allocId: actor.allocId });
  // Tenant summaries (the minute rollup the dashboards read) count the actor's tenant.
  const rollup = await store.query<{ n: string }>(
    'SELECT toString(sum(flows)) AS n FROM flows_minute_detail WHERE src_tenant = {t:String}',
    { params: { t: actor.tenant } },
  );
  expect(Number(rollup[0]!.n)).toBe(ADDRESS_SCAN_HOSTS + 2);
  const unowned = await store.query<{ n: string }>(
    "SELECT toString(sum(flows)) AS n FROM flows_minute_detail WHERE src_tenant = ''",
  );
  expect(Number(unowned[0]?.n ?? 0)).toBe(0);
  // The victim's report: an address outside ours names the allocation at the other end.
  const victim = investigationRequestSchema.parse({
    indicator: '203.0.113.10',
    since: formatTimeNs(fromNs),
    until: formatTimeNs(toNs),
  });
  const inv = await runInvestigation(
    { store, settings: {}, maxRangeNs: 86_400n * S },
    victim,
    openModePrincipal,
  );
  expect(inv.indicator_side).toBe('outside');
  expect(inv.accounts[0]).toMatchObject({ tenant: actor.tenant, attributed_end: 'source' });
  expect(inv.accounts[0]!.allocations[0]!.alloc_id).toBe(actor.allocId);
}

describe('test > import attributes at ingest; late ownership reaches aggregates (chdb)', () => {
  const stores: Store[] = [];
  afterAll(async () => {
    await stores[0]?.close();
  });

  it('Nomad events first, then flows: attributed at ingest', async () => {
    const store = await freshStore('events_first');
    stores.push(store);
    await importNomadEvents(store, [captureFile]);
    const r = await ingestFiles({ store, files: [flowsFile], tenancy: defaultTenancyConfig });
    expect(r.imported).toBe(ADDRESS_SCAN_HOSTS + 2);
    const stored = await store.query<{ s: string; n: string }>(
      'SELECT toString(src_source) AS s, toString(count()) AS n FROM flows GROUP BY s',
    );
    expect(stored).toEqual([{ s: 'ownership', n: String(ADDRESS_SCAN_HOSTS + 2) }]);
    await expectPlanted(store);
  });

  it('flows first, then Nomad events: the late-owner job corrects flows and the rollup', async () => {
    const store = await freshStore('flows_first');
    stores.push(store);
    await ingestFiles({ store, files: [flowsFile], tenancy: defaultTenancyConfig });
    const before = await store.query<{ s: string }>('SELECT DISTINCT toString(src_source) AS s FROM flows');
    expect(before).toEqual([{ s: 'none' }]);
    const summary = await importNomadEvents(store, [captureFile]);
    expect(summary.corrected?.src).toBe(ADDRESS_SCAN_HOSTS + 2);
    await expectPlanted(store);
    // Running the correction again changes nothing (no double counts in the rollup).
    const again = await importNomadEvents(store, [captureFile]);
    expect(again.corrected?.src).toBe(0);
    await expectPlanted(store);
  });

  it('labelled flows without any ownership: tenant and account from the netreap labels at import', async () => {
    const store = await freshStore('labels_only');
    stores.push(store);
    const labels = ['netreap:nomad.job_id=mailer', 'nomad:tenant=labelled-co', 'nomad:account_id=acct-9'];
    const file = path.join(dir, 'labelled.json');
    writeFileSync(file, `${line(actor.since + 5n * S, '198.51.100.25', 25, 'FORWARDED', labels)}\n`);
    const r = await ingestFiles({ store, files: [file], tenancy: defaultTenancyConfig });
    expect(r.imported).toBe(1);
    const stored = await store.query<{ t: string; a: string; s: string }>(
      'SELECT src_tenant AS t, src_account AS a, toString(src_source) AS s FROM flows',
    );
    expect(stored).toEqual([{ t: 'labelled-co', a: 'acct-9', s: 'label' }]);
    // What the dashboards read counts the labelled tenant too.
    const rollup = await store.query<{ n: string }>(
      'SELECT toString(sum(flows)) AS n FROM flows_minute_detail WHERE src_tenant = {t:String}',
      { params: { t: 'labelled-co' } },
    );
    expect(rollup[0]?.n).toBe('1');
  });
});

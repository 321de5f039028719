/**
 * The collector's attribution wiring corrects late owners on its own (issue 12.4): flows stored
 * as nobody's become their owner's in storage and in the minute rollup once the ownership table
 * knows the owner, without an import or a restart. Real chdb.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, expect, it } from 'vitest';
import { createChdbStore } from '../../common/clickhouse/chdb-store.ts';
import { migrate } from '../../common/clickhouse/migrator.ts';
import type { Store } from '../../common/clickhouse/store.ts';
import { defaultTenancyConfig } from '../../common/config/tenancy.ts';
import type { Logger } from '../../common/logger.ts';
import { createMetrics } from '../../common/metrics.ts';
import { writeIntervals } from '../../common/ownership/persistence.ts';
import { OPEN_END_NS } from '../../common/ownership/types.ts';
import { nowNs } from '../../common/time.ts';
import { createAttribution } from './attribution.ts';

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => quiet };
let store: Store;
afterAll(async () => store?.close());

it('collector > attribution: late owners reach stored flows and the rollup by the periodic correction', async () => {
  store = await createChdbStore(mkdtempSync(path.join(tmpdir(), 'ft-attr-correct-')), 'c');
  await migrate(store);
  const t = nowNs() - 60_000_000_000n;
  await store.insertJson('flows', [
    {
      flow_id: 'late-flow-000001',
      time: t.toString(),
      source_ip: '10.6.0.1',
      destination_ip: '8.8.8.8',
      received_at: t.toString(),
    },
  ]);
  await writeIntervals(store, [
    {
      address: '10.6.0.1',
      kind: 'alloc',
      allocId: 'alloc-late',
      allocName: 'web.web[0]',
      namespace: 'acme',
      job: 'web',
      group: 'web',
      nodeId: 'n',
      nodeName: 'n1',
      tenant: 'acme',
      account: 'acme-1',
      start: t - 1_000_000_000n,
      end: OPEN_END_NS,
      nomadIndex: 1n,
    },
  ]);
  const registry = new Registry();
  const attribution = createAttribution({
    tenancy: defaultTenancyConfig,
    store,
    logger: quiet,
    metrics: createMetrics('attr_correct_test', registry),
    correctEveryMs: 50,
  });
  await attribution.start();
  const deadline = Date.now() + 60_000;
  let rows: { tenant: string; source: string }[] = [];
  while (Date.now() < deadline) {
    rows = await store.query('SELECT src_tenant AS tenant, toString(src_source) AS source FROM flows');
    if (rows[0]?.source === 'ownership') break;
    await new Promise((r) => setTimeout(r, 50));
  }
  await attribution.stop();
  expect(rows).toEqual([{ tenant: 'acme', source: 'ownership' }]);
  const rollup = await store.query<{ tenant: string; n: string }>(
    'SELECT src_tenant AS tenant, toString(sum(flows)) AS n FROM flows_minute_detail GROUP BY tenant HAVING sum(flows) != 0',
  );
  expect(rollup).toEqual([{ tenant: 'acme', n: '1' }]);
  expect(
    await registry.getSingleMetricAsString('flowtrail_attr_correct_test_late_owner_ends_corrected_total'),
  ).toMatch(/ 1$/m);
});

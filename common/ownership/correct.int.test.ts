/**
 * The late-owner correction (correct.ts) on real chdb: corrected ends get the one scope rule's
 * scopes (both ends, since a scope depends on both tenants), in `flows` and in the minute
 * rollup; and a run that dies after any step is finished by the next run with the rollup equal
 * to a from-scratch recount of `flows` (no batch left out, none counted twice).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createChdbStore } from '../clickhouse/chdb-store.ts';
import { migrate } from '../clickhouse/migrator.ts';
import { rollupDimensions, rollupTables } from '../clickhouse/rollups.ts';
import type { Store } from '../clickhouse/store.ts';
import { tenancyConfigSchema } from '../config/tenancy.ts';
import { type CorrectionOptions, correctLateOwners } from './correct.ts';
import { writeIntervals } from './persistence.ts';
import { OPEN_END_NS, type OwnerInterval } from './types.ts';

const T = 1_767_225_600_000_000_000n; // 2026-01-01T00:00:00Z
const S = 1_000_000_000n;
const tenancy = tenancyConfigSchema.parse({ platformNamespaces: ['system'] });

const alloc = (address: string, tenant: string, start: bigint, end = OPEN_END_NS): OwnerInterval => ({
  address,
  kind: 'alloc',
  allocId: `alloc-${tenant}-${address}-${start}`,
  allocName: `${tenant}-web.web[0]`,
  namespace: tenant === 'platform' ? 'system' : `tenant-${tenant}`,
  job: `${tenant}-web`,
  group: 'web',
  nodeId: 'node-1',
  nodeName: 'nomad-1',
  tenant,
  account: `acct-${tenant}`,
  start,
  end,
  nomadIndex: 1n,
});

/** A flow row as ingest would have stored it (scopes as the enricher computed them then). */
const flow = (
  id: string,
  at: bigint,
  src: string,
  dst: string,
  ends: { src?: [tenant: string, scope: string]; dst?: [tenant: string, scope: string] },
  dstScope = 'world',
  srcScope = 'private',
) => ({
  flow_id: id.padEnd(16, '-'),
  time: at.toString(),
  // Retention counts from ingest: an old received_at would expire the row at insert.
  received_at: (BigInt(Date.now()) * 1_000_000n).toString(),
  source_ip: src,
  destination_ip: dst,
  verdict: 'FORWARDED',
  l4_protocol: 'TCP',
  destination_port: 443,
  src_source: ends.src ? 'label' : 'none',
  src_tenant: ends.src?.[0] ?? '',
  src_namespace: ends.src ? `tenant-${ends.src[0]}` : '',
  src_scope: ends.src?.[1] ?? srcScope,
  dst_source: ends.dst ? 'label' : 'none',
  dst_tenant: ends.dst?.[0] ?? '',
  dst_namespace: ends.dst ? `tenant-${ends.dst[0]}` : '',
  dst_scope: ends.dst?.[1] ?? dstScope,
});

// 10.0.0.1 is acme's, 10.0.0.2 globex's; 10.0.0.3 acme's for the first minute, then globex's;
// 10.0.0.9 a platform namespace's; 10.0.0.7 nobody's. The ownership arrives after the flows.
const intervals = [
  alloc('10.0.0.1', 'acme', T),
  alloc('10.0.0.2', 'globex', T),
  alloc('10.0.0.3', 'acme', T, T + 60n * S),
  alloc('10.0.0.3', 'globex', T + 60n * S),
  alloc('10.0.0.9', 'platform', T),
];
const flows = [
  // late src to the world: owner only, scopes unchanged
  flow('world', T + S, '10.0.0.1', '8.8.8.8', {}),
  // late src to a labelled end of the same tenant: both ends become same-tenant
  flow('same', T + 2n * S, '10.0.0.1', '10.44.0.1', { dst: ['acme', 'private'] }, 'private'),
  // late src to a labelled end of another tenant: both other-tenant
  flow('other', T + 3n * S, '10.0.0.1', '10.44.0.2', { dst: ['globex', 'private'] }, 'private'),
  // both ends late, different tenants
  flow('both', T + 4n * S, '10.0.0.1', '10.0.0.2', {}, 'private'),
  // reused address: the holder at the flow's time decides (globex after the first minute)
  flow('reuseA', T + 30n * S, '10.0.0.3', '10.0.0.1', {}, 'private'),
  flow('reuseG', T + 90n * S, '10.0.0.3', '10.0.0.1', {}, 'private'),
  // platform namespace: platform scope for the corrected end, private for its peer
  flow('platform', T + 5n * S, '10.0.0.9', '10.0.0.7', {}, 'private'),
  // nobody owns either end: untouched
  flow('nobody', T + 6n * S, '10.0.0.7', '1.1.1.1', {}),
  // a later minute and a later day, so the rollup spans partitions
  flow('nextday', T + 86_400n * S + S, '10.0.0.2', '10.44.0.3', { dst: ['globex', 'private'] }, 'private'),
];

let store: Store;
const dataDir = mkdtempSync(path.join(tmpdir(), 'ft-correct-'));
beforeAll(async () => {
  store = await createChdbStore(dataDir, 'correct');
  await migrate(store);
});
afterAll(async () => store?.close());

beforeEach(async () => {
  for (const t of [
    'flows',
    ...rollupTables.map((t) => t.name),
    'ownership',
    'flow_owner_corrections',
    'flow_owner_correction_batches',
    'flow_owner_correction_flows',
    'flow_owner_correction_scans',
  ])
    await store.command(`TRUNCATE TABLE ${t}`);
  await store.insertJson('flows', flows);
  await writeIntervals(store, intervals);
});

/** Every rollup as stored (folded) and as a recount of `flows` would build it now. */
async function rollupVsRecount(): Promise<{ rollup: string[]; recount: string[] }> {
  const out = { rollup: [] as string[], recount: [] as string[] };
  for (const t of rollupTables) {
    const dims = ['minute', ...rollupDimensions(t)];
    const key = `concat('${t.name}|', ${dims.map((d) => `toString(${d})`).join(", '|', ")})`;
    const rollup = await store.query<{ k: string }>(
      `SELECT concat(${key}, '=', toString(sum(flows))) AS k FROM ${t.name} GROUP BY ${dims.join(', ')}
       HAVING sum(flows) != 0 ORDER BY k`,
    );
    const recount = await store.query<{ k: string }>(
      `SELECT concat(${key}, '=', toString(count())) AS k
       FROM (SELECT *, toStartOfMinute(time) AS minute FROM flows) GROUP BY ${dims.join(', ')} ORDER BY k`,
    );
    out.rollup.push(...rollup.map((r) => r.k));
    out.recount.push(...recount.map((r) => r.k));
  }
  return out;
}

async function ends(): Promise<Record<string, string>> {
  const rows = await store.query<{ id: string; v: string }>(
    `SELECT trimRight(replaceAll(toString(flow_id), '-', ' ')) AS id,
       concat(src_tenant, '/', toString(src_source), '/', toString(src_scope), ' -> ',
              dst_tenant, '/', toString(dst_source), '/', toString(dst_scope)) AS v
     FROM flows ORDER BY id`,
  );
  return Object.fromEntries(rows.map((r) => [r.id, r.v]));
}

const expected = {
  world: 'acme/ownership/private -> /none/world',
  same: 'acme/ownership/same-tenant -> acme/label/same-tenant',
  other: 'acme/ownership/other-tenant -> globex/label/other-tenant',
  both: 'acme/ownership/other-tenant -> globex/ownership/other-tenant',
  reuseA: 'acme/ownership/same-tenant -> acme/ownership/same-tenant',
  reuseG: 'globex/ownership/other-tenant -> acme/ownership/other-tenant',
  platform: 'platform/ownership/platform -> /none/private',
  nobody: '/none/private -> /none/world',
  nextday: 'globex/ownership/same-tenant -> globex/label/same-tenant',
};

describe('late-owner correction', () => {
  it('recomputes both ends’ scopes by the scope rule, in flows and in the rollup', async () => {
    const r = await correctLateOwners(store, { tenancy });
    expect(r.src + r.dst).toBe(11);
    expect(await ends()).toEqual(expected);
    const { rollup, recount } = await rollupVsRecount();
    expect(rollup).toEqual(recount);
    // Nothing left: a second run corrects nothing and changes nothing.
    const again = await correctLateOwners(store, { tenancy });
    expect([again.src, again.dst, again.resumed]).toEqual([0, 0, 0]);
    expect(await rollupVsRecount()).toEqual({ rollup, recount });
  });

  it('rewrites by a lightweight UPDATE, then folds its patch in: no ALTER UPDATE; kept on reopening', async () => {
    // TRUNCATE leaves the earlier tests' patch parts and mutations: counted apart.
    const patches = async () =>
      (
        await store.query<{ parts: string; rows: string }>(
          `SELECT toString(count()) AS parts, toString(sum(rows)) AS rows FROM system.parts
           WHERE database = currentDatabase() AND table = 'flows' AND active AND startsWith(partition_id, 'patch-')`,
        )
      ).map((p) => [Number(p.parts), Number(p.rows)])[0]!;
    const mutations = () =>
      store.query<{ command: string; done: number }>(
        `SELECT command, is_done AS done FROM system.mutations
         WHERE database = currentDatabase() AND table = 'flows' ORDER BY create_time, mutation_id`,
      );
    const before = await patches();
    const mutated = (await mutations()).length;
    await correctLateOwners(store, { tenancy });
    const after = await patches();
    // One patch part per day partition of the batch's flows, with a row for each of its 8 flows only.
    expect([after[0]! - before[0]!, after[1]! - before[1]!]).toEqual([2, 8]);
    // …and one APPLY PATCHES per partition, left to run in the background: no ALTER UPDATE.
    const asked = (await mutations()).slice(mutated).map((m) => m.command);
    expect(asked).toEqual([
      "(APPLY PATCHES IN PARTITION ID '20260101')",
      "(APPLY PATCHES IN PARTITION ID '20260102')",
    ]);
    const deadline = Date.now() + 60_000;
    while ((await mutations()).some((m) => !m.done) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    expect((await mutations()).every((m) => m.done)).toBe(true);
    expect(await ends()).toEqual(expected);
    await store.close();
    store = await createChdbStore(dataDir, 'correct');
    expect(await ends()).toEqual(expected);
  });

  it.each(['ends', 'scopes', 'rollup', 'rewrite'] as const)(
    'a crash after the %s step is finished by the next run, each flow counted once',
    async (step) => {
      let crashes = 0;
      const crashOnce: CorrectionOptions['afterWork'] = (work) => {
        if (work === step && crashes++ === 0) throw new Error(`injected crash after ${work}`);
      };
      await expect(correctLateOwners(store, { tenancy, afterWork: crashOnce })).rejects.toThrow(
        `injected crash after ${step}`,
      );
      expect(crashes).toBe(1);
      const next = await correctLateOwners(store, { tenancy, afterWork: crashOnce });
      expect(next.resumed).toBe(1);
      // The crashed batch holds every late end: the next run finds nothing new.
      expect(next.src + next.dst).toBe(0);
      expect(await ends()).toEqual(expected);
      const { rollup, recount } = await rollupVsRecount();
      expect(rollup).toEqual(recount);
      const state = await store.query<{ n: string }>(
        `SELECT toString(count()) AS n FROM (SELECT batch FROM flow_owner_correction_batches
         GROUP BY batch HAVING max(step) != 'done')`,
      );
      expect(state).toEqual([{ n: '0' }]);
    },
  );
});

describe('late-owner correction > bounded by the late ownership', () => {
  it('a later run finds owners recorded after the last one, at either end, and flows stored just after', async () => {
    const first = await correctLateOwners(store, { tenancy });
    expect(first.src + first.dst).toBe(11);
    // After the run: 10.0.0.7 gets an owner (the source of `nobody`, the destination of
    // `platform`: found through the address index), and a flow of an owner the run already
    // examined arrives stored as nobody's (a writer's stale ownership: within the overlap).
    await store.insertJson('flows', [flow('lagging', T + 7n * S, '10.0.0.1', '8.8.8.8', {})]);
    await writeIntervals(store, [alloc('10.0.0.7', 'initech', T)]);
    const next = await correctLateOwners(store, { tenancy });
    expect([next.src, next.dst]).toEqual([2, 1]);
    const e = await ends();
    expect(e.nobody).toMatch(/^initech\/ownership\/\S+ -> \/none\/world$/);
    expect(e.platform).toMatch(/^platform\/ownership\/\S+ -> initech\/ownership\/\S+$/);
    expect(e.lagging).toBe('acme/ownership/private -> /none/world');
    const { rollup, recount } = await rollupVsRecount();
    expect(rollup).toEqual(recount);
    // Nothing new since: the next run examines only the overlap and finds nothing.
    const last = await correctLateOwners(store, { tenancy });
    expect(last.src + last.dst).toBe(0);
  });
});

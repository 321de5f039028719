import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChdbStore } from '../clickhouse/chdb-store.ts';
import { migrate } from '../clickhouse/migrator.ts';
import type { Store } from '../clickhouse/store.ts';
import { createIntervalIndex } from './interval-index.ts';
import { ownerAt, resolveOwnersSql } from './owner-rule.ts';
import { writeIntervals } from './persistence.ts';
import { attributeFlowEnds } from './reattribute.ts';
import { OPEN_END_NS, type OwnerInterval } from './types.ts';
import { intervalsFor, pickOwners } from './who.ts';

// Times above 2^53 so float rounding in the index would merge neighbours if it relied on it.
const T = 1_700_000_000_000_000_000n;

type Iv = [id: string, start: bigint, end: bigint, kind?: 'alloc' | 'node'];
interface Case {
  name: string;
  intervals: Iv[];
  /** [offset from T, expected owner id ('' = nobody)] */
  probes: [bigint, string][];
}

// One table, run through every form of the rule: the in-memory index, ownerAt, who's
// pickOwners, attributeFlowEnds and the SQL of resolveOwnersSql against real chdb.
const cases: Case[] = [
  {
    name: 'disjoint, half-open boundaries',
    intervals: [
      ['a', T, T + 100n],
      ['b', T + 100n, T + 200n],
    ],
    probes: [
      [-1n, ''],
      [0n, 'a'],
      [99n, 'a'],
      [100n, 'b'],
      [199n, 'b'],
      [200n, ''],
    ],
  },
  {
    name: 'nested: the later start wins while it lasts, then the outer one again',
    intervals: [
      ['outer', T, T + 1000n],
      ['inner', T + 100n, T + 200n],
    ],
    probes: [
      [50n, 'outer'],
      [100n, 'inner'],
      [150n, 'inner'],
      [200n, 'outer'],
      [999n, 'outer'],
    ],
  },
  {
    name: 'overlap with a still-open earlier interval (stale close never seen)',
    intervals: [
      ['old', T, OPEN_END_NS],
      ['new', T + 10n, T + 20n],
    ],
    probes: [
      [15n, 'new'],
      [25n, 'old'],
    ],
  },
  {
    name: 'same start: the larger alloc id wins',
    intervals: [
      ['alloc-1', T, T + 100n],
      ['alloc-2', T, T + 50n],
    ],
    probes: [
      [0n, 'alloc-2'],
      [49n, 'alloc-2'],
      [50n, 'alloc-1'],
    ],
  },
  {
    name: 'many later intervals ended: an earlier long one still owns',
    intervals: [
      ['long', T, T + 10_000n],
      ['s1', T + 10n, T + 11n],
      ['s2', T + 20n, T + 21n],
      ['s3', T + 30n, T + 31n],
      ['s4', T + 40n, T + 41n],
      ['s5', T + 50n, T + 51n],
      ['s6', T + 60n, T + 61n],
    ],
    probes: [
      [10n, 's1'],
      [55n, 'long'],
      [9_999n, 'long'],
      [10_000n, ''],
    ],
  },
  {
    name: 'an allocation beats the node host address it sits on',
    intervals: [
      ['node-1', T, OPEN_END_NS, 'node'],
      ['alloc-h', T + 100n, T + 200n],
    ],
    probes: [
      [50n, 'node-1'],
      [150n, 'alloc-h'],
      [250n, 'node-1'],
    ],
  },
];

const addressOf = (i: number) => `10.99.${i}.1`;
const idOf = (iv: OwnerInterval | undefined) => (iv ? (iv.kind === 'alloc' ? iv.allocId : iv.nodeId) : '');

function intervalsOf(c: Case, address: string): OwnerInterval[] {
  return c.intervals.map(([id, start, end, kind = 'alloc']) => ({
    address,
    kind,
    allocId: kind === 'alloc' ? id : '',
    allocName: kind === 'alloc' ? `${id}.name` : '',
    namespace: 'ns',
    job: `job-${id}`,
    group: 'g',
    nodeId: kind === 'node' ? id : 'node-x',
    nodeName: kind === 'node' ? id : 'node-x',
    tenant: kind === 'alloc' ? `tenant-${id}` : '',
    account: '',
    start,
    end,
    nomadIndex: 1n,
  }));
}

let store: Store;
const dataDir = mkdtempSync(path.join(tmpdir(), 'flowtrail-owner-rule-'));

beforeAll(async () => {
  store = await createChdbStore(dataDir, 'flowtrail');
  await migrate(store);
  await writeIntervals(
    store,
    cases.flatMap((c, i) => intervalsOf(c, addressOf(i))),
  );
}, 120_000);

afterAll(async () => {
  await store?.close();
});

describe('common > ownership > the one owner rule', () => {
  it.each(cases.map((c, i) => [c.name, c, i] as const))('%s: every form agrees', async (_n, c, i) => {
    const address = addressOf(i);
    const expected = c.probes.map(([, id]) => id);
    const ivs = intervalsOf(c, address);

    // The definition itself.
    expect(c.probes.map(([dt]) => idOf(ownerAt(ivs, T + dt)))).toEqual(expected);

    // The ingest index (one index per kind, allocations first, as the enricher asks).
    const allocs = createIntervalIndex();
    const nodes = createIntervalIndex();
    for (const iv of ivs) (iv.kind === 'alloc' ? allocs : nodes).upsert(iv);
    expect(
      c.probes.map(([dt]) => idOf(allocs.lookup(address, T + dt) ?? nodes.lookup(address, T + dt))),
    ).toEqual(expected);

    // who / pickOwners over the stored, merged intervals.
    const stored = await intervalsFor(store, [address]);
    expect(c.probes.map(([dt]) => idOf(pickOwners(stored, T + dt).owner))).toEqual(expected);

    // Query-time re-attribution of rows (allocation owners only: node ends carry no owner).
    const blank = {
      tenant: '',
      account: '',
      namespace: '',
      job: '',
      group: '',
      allocId: '',
      allocName: '',
      node: '',
    };
    const owners = await attributeFlowEnds(
      store,
      c.probes.map(([dt]) => ({ ...blank, ip: address, timeNs: T + dt, source: 'none' as const })),
    );
    expect(owners.map((o) => (o ? o.alloc_id || o.node : ''))).toEqual(expected);

    // The SQL form, from the same rank definition.
    const rows = await store.query<{ owner_kind: string; owner_alloc_id: string; owner_node_id: string }>(
      `SELECT p.n AS n, r.owner_kind AS owner_kind, r.owner_alloc_id AS owner_alloc_id, r.owner_node_id AS owner_node_id
       FROM (SELECT arrayJoin(arrayEnumerate({ts:Array(String)})) AS n) AS p
       LEFT JOIN (${resolveOwnersSql(
         `SELECT n AS probe_id, toIPv6({ip:String}) AS probe_ip,
            fromUnixTimestamp64Nano(toInt64({ts:Array(String)}[n]), 'UTC') AS probe_time
          FROM (SELECT arrayJoin(arrayEnumerate({ts:Array(String)})) AS n)`,
       )}) AS r ON p.n = r.probe_id
       ORDER BY n`,
      { params: { ip: address, ts: c.probes.map(([dt]) => (T + dt).toString()) } },
    );
    expect(
      rows.map((r) =>
        r.owner_kind === 'alloc' ? r.owner_alloc_id : r.owner_kind === 'node' ? r.owner_node_id : '',
      ),
    ).toEqual(expected);
  });
});

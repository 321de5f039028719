import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestFiles } from '../../collector/src/ingest-files.ts';
import { Flow } from '../../proto/gen/flow/flow.ts';
import { toHubbleJson } from '../../proto/src/hubble-json.ts';
import { createChdbStore } from '../clickhouse/chdb-store.ts';
import type { Store } from '../clickhouse/index.ts';
import { migrate } from '../clickhouse/migrator.ts';
import { RowBinaryWriter } from '../clickhouse/row-binary.ts';
import { contentFlowId, flowIdFromUuid } from '../flow/flow-id.ts';
import { ingestFlow, nowNs, timestampToNs } from '../flow/model.ts';
import { describeWithFixtures, hubbleFixtureFiles } from '../testing/fixtures.ts';
import {
  flowDenseColumns,
  flowRestoreColumns,
  restoreFlow,
  sparseColumnGroups,
  sparseColumnsSql,
} from './flow-restore.ts';
import { flowColumns, flowStructure } from './flow-row.ts';
import { encodeFlowRow } from './flow-wire.ts';
import { SparseField as S } from './stored-fields.ts';

const dataDir = path.join(mkdtempSync(path.join(tmpdir(), 'flowtrail-rows-')), 'data');
let store: Store;
/** A database of its own for hand-made flows, so the fixture counts below stay exact. */
let scratch: Store;
beforeAll(async () => {
  store = await createChdbStore(dataDir, 'flow_rows');
  await migrate(store);
  scratch = await createChdbStore(dataDir, 'flow_rows_scratch');
  await migrate(scratch);
});
afterAll(async () => {
  await scratch?.close();
  await store?.close();
});

/** Normalises a ClickHouse type for comparison: LowCardinality and spacing do not change RowBinary. */
const norm = (t: string) => t.replace(/LowCardinality\((.*)\)/g, '$1').replace(/\s+/g, '');

/**
 * Stored flows (all, or the one with hex id `id`) read as a listing reads them: the dense columns,
 * then for each row the sparse groups its `r_sparse` names (query-api's readSparseColumns does the
 * same for a page, in one statement).
 */
async function readAsListing(s: Store, id?: string): Promise<Record<string, unknown>[]> {
  const rows = await s.query<Record<string, unknown>>(
    `SELECT lower(hex(flow_id)) AS id, ${flowDenseColumns} FROM flows` +
      (id === undefined ? '' : ' WHERE flow_id = unhex({id:String})'),
    id === undefined ? {} : { params: { id } },
  );
  for (const row of rows) {
    const mask = Number(row['r_sparse']);
    if (mask === 0) continue;
    const [groups] = await s.query<Record<string, unknown>>(
      `SELECT ${sparseColumnsSql(mask)} FROM flows WHERE flow_id = unhex({id:String})`,
      { params: { id: row['id'] } },
    );
    Object.assign(row, groups);
  }
  return rows;
}

describe('common > schema > flow-row', () => {
  it.each([
    { description: 'canonical IPv4', source: '10.1.2.3', destination: '192.168.0.10', inColumns: true },
    { description: 'canonical IPv6', source: 'fe80::1', destination: '2001:db8::a:1', inColumns: true },
    {
      description: 'IPv4 with leading zeros',
      source: '010.1.2.3',
      destination: '10.1.2.3',
      inColumns: false,
    },
    // The edges of the IPv4 fast path (flow-wire.ts dottedQuad), which must agree with parseIpBytes.
    { description: 'IPv4 at its bounds', source: '255.255.255.255', destination: '0.0.0.0', inColumns: true },
    {
      description: 'IPv4, leading zero last',
      source: '10.1.2.03',
      destination: '10.1.2.3',
      inColumns: false,
    },
    {
      description: 'not an address: part > 255',
      source: '256.1.2.3',
      destination: '10.1.2.3',
      inColumns: false,
    },
    {
      description: 'not an address: five parts',
      source: '1.2.3.4.5',
      destination: '10.1.2.3',
      inColumns: false,
    },
    {
      description: 'not an address: empty part',
      source: '1..2.3',
      destination: '10.1.2.3',
      inColumns: false,
    },
    { description: 'upper-case IPv6', source: 'FE80::1', destination: 'fe80::2', inColumns: false },
    { description: 'the unspecified address', source: '::', destination: 'fe80::2', inColumns: false },
  ])('gives back addresses exactly as written: $description', async ({ source, destination, inColumns }) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'flowtrail-ip-'));
    const line = JSON.stringify({
      flow: {
        time: '2026-01-01T00:00:00Z',
        verdict: 'FORWARDED',
        IP: { source, destination, ipVersion: 'IPv4' },
      },
      node_name: 'n',
      time: '2026-01-01T00:00:00Z',
    });
    const file = path.join(dir, 'ip.json');
    writeFileSync(file, `${line}\n`);
    await ingestFiles({ store: scratch, files: [file] });
    const [row] = await scratch.query<Record<string, unknown>>(
      `SELECT length(flow_extra) AS extra_len, ${flowRestoreColumns} FROM flows WHERE flow_id = unhex({id:String})`,
      { params: { id: Buffer.from(contentFlowId(line)).toString('hex') } },
    );
    const restored = toHubbleJson({ flow: restoreFlow(row!), node_name: '' } as never)['flow'] as Record<
      string,
      unknown
    >;
    expect(restored['IP']).toEqual({ source, destination, ipVersion: 'IPv4' });
    // Exact text lives in the columns; anything else stays in flow_extra.
    expect(Number(row!['extra_len']) > 0).toBe(!inColumns);
  });

  const base = Flow.fromPartial({
    time: { seconds: 1_700_000_000n, nanos: 5 },
    uuid: '0b5c6a3e-2f3c-4f7e-9d1a-6c4b2a1e9f00',
    verdict: 1,
    IP: { source: '10.0.0.1', destination: '10.0.0.2', ipVersion: 1 },
  });
  it.each<[string, Record<string, unknown>]>([
    [
      'every column filled',
      {
        drop_reason: 133,
        drop_reason_desc: 133,
        auth_type: 1,
        ethernet: { source: 'aa:bb', destination: 'cc:dd' },
        l4: { TCP: { source_port: 443, destination_port: 5000, flags: { SYN: true, ACK: true, NS: true } } },
        source: {
          ID: 9,
          identity: 1234,
          namespace: 'ns',
          labels: ['a=b', 'k8s:x=y'],
          pod_name: 'p',
          workloads: [{ name: 'w', kind: 'Deployment' }],
          cluster_name: 'c',
        },
        destination: { labels: ['reserved:world'] },
        Type: 1,
        node_name: 'kind/n1',
        source_names: ['a.example'],
        destination_names: ['b.example', 'c.example'],
        l7: {
          type: 2,
          latency_ns: 12_345_678_901n,
          http: {
            code: 200,
            method: 'GET',
            url: 'http://x/é',
            protocol: 'HTTP/1.1',
            headers: [{ key: 'k', value: 'v' }],
          },
        },
        event_type: { type: 4, sub_type: 3 },
        source_service: { name: 's', namespace: 'n' },
        destination_service: { name: 'd', namespace: 'm' },
        traffic_direction: 2,
        policy_match_type: 3,
        trace_observation_point: 101,
        trace_reason: 2,
        is_reply: false,
        interface: { index: 3, name: 'eth0' },
        proxy_port: 8080,
        trace_context: { parent: { trace_id: 'abc' } },
        sock_xlate_point: 2,
        socket_cookie: 2n ** 63n + 5n,
        cgroup_id: 77n,
        Summary: 'TCP Flags: SYN',
        egress_allowed_by: [
          { name: 'p1', namespace: 'ns', kind: 'CiliumNetworkPolicy', labels: ['x'], revision: 3n },
        ],
        ingress_denied_by: [{ name: 'p2', kind: 'CiliumClusterwideNetworkPolicy' }],
        emitter: { name: 'Hubble', version: '1.16' },
        node_labels: ['zone=a'],
        reply: true,
      },
    ],
    [
      'dns and kafka',
      {
        l7: {
          type: 1,
          dns: {
            query: 'x.',
            ips: ['1.1.1.1'],
            ttl: 30,
            cnames: ['y.'],
            observation_source: 'proxy',
            rcode: 3,
            qtypes: ['A'],
            rrtypes: ['A', 'AAAA'],
          },
        },
      },
    ],
    [
      'kafka',
      {
        l7: {
          type: 1,
          kafka: { error_code: -1, api_version: 2, api_key: 'produce', correlation_id: 7, topic: 't' },
        },
      },
    ],
    ['icmp', { l4: { ICMPv6: { type: 128, code: 0 } } }],
    [
      'two L4 variants stay in flow_extra',
      { l4: { UDP: { source_port: 1, destination_port: 2 }, SCTP: { source_port: 3, destination_port: 4 } } },
    ],
    ['a port above 65535', { l4: { UDP: { source_port: 70_000, destination_port: 2 } } }],
    ['a workload kind with a slash', { source: { workloads: [{ name: 'w', kind: 'a/b' }] } }],
    ['a service namespace with a slash', { source_service: { name: 's', namespace: 'a/b' } }],
    [
      'unknown enum numbers',
      { verdict: 99, Type: 9, traffic_direction: 7, auth_type: 5, drop_reason_desc: 9999, l7: { type: 9 } },
    ],
    [
      'a non-canonical source address',
      { IP: { source: '010.0.0.1', destination: '10.0.0.2', ipVersion: 1 } },
    ],
    ['a non-canonical uuid and nanos', { uuid: 'ABC', time: { seconds: 5n, nanos: -1 } }],
    ['a node name unlike the response', { node_name: 'other' }],
    ['a trace context without parent', { trace_context: {} }],
  ])('restores a flow with %s exactly (encoded from its wire bytes)', async (_, partial) => {
    const flow = Flow.fromPartial({ ...base, uuid: randomUUID(), ...partial } as never);
    const flowId = flowIdFromUuid(flow.uuid);
    const w = new RowBinaryWriter();
    const meta = {
      nodeName: 'kind/n1',
      timeNs: timestampToNs(flow.time)!,
      flowId,
      target: 't',
      receivedAtNs: nowNs(),
    };
    encodeFlowRow(w, ingestFlow(flow, meta));
    await scratch.insertRowBinary({
      into: 'flows',
      structure: flowStructure,
      select: 'SELECT * FROM {input}',
      data: w.take(),
    });
    const [row] = await scratch.query<Record<string, unknown>>(
      `SELECT ${flowRestoreColumns} FROM flows WHERE flow_id = unhex({id:String})`,
      { params: { id: Buffer.from(flowId).toString('hex') } },
    );
    // Byte-faithful: the restored Flow encodes to the bytes that were ingested.
    const bytes = (f: Flow) => Buffer.from(Flow.encode(f).finish()).toString('hex');
    expect(bytes(restoreFlow(row!))).toBe(bytes(flow));
    // And as a listing page restores it: the dense columns, then the groups its row names.
    const [listed] = await readAsListing(scratch, Buffer.from(flowId).toString('hex'));
    expect(bytes(restoreFlow(listed!))).toBe(bytes(flow));
  });

  it('encodes exactly the columns of the flows table, in order, with compatible types', async () => {
    const cols = await store.query<{ name: string; type: string }>(
      // Columns ClickHouse computes (sparse_fields) are not written.
      `SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = 'flows'
         AND default_kind != 'MATERIALIZED' ORDER BY position`,
    );
    expect(cols.map((c) => c.name)).toEqual(flowColumns);
    const declared = flowStructure
      .split(/,\s(?=[a-z_0-9]+ [A-Z])/)
      .map((c) => norm(c.slice(c.indexOf(' ') + 1)));
    expect(cols.map((c) => norm(c.type))).toEqual(declared);
  });
});

describe('common > schema > flow-row > sparse_fields', () => {
  const columns = sparseColumnGroups.flatMap((g) => g.columns.map(([column]) => ({ column, bit: g.bit })));

  it.each(columns)(
    'sets bit $bit alone for a row whose only value is in $column',
    async ({ column, bit }) => {
      const [col] = await scratch.query<{ type: string }>(
        `SELECT type FROM system.columns WHERE database = currentDatabase() AND table = 'flows' AND name = {c:String}`,
        { params: { c: column } },
      );
      // Any value but the type's empty one: 1 (a number, an enum's value 1, the text '1') or ['1'].
      const value = col!.type.startsWith('Array(') ? "['1']" : '1';
      const id = randomUUID().replaceAll('-', '');
      await scratch.command(
        `INSERT INTO flows (time, received_at, flow_id, ${column}) SELECT now64(9), now64(9), unhex('${id}'), CAST(${value}, '${col!.type.replaceAll("'", "\\'")}')`,
      );
      const [row] = await scratch.query<{ sparse: number }>(
        `SELECT sparse_fields AS sparse FROM flows WHERE flow_id = unhex('${id}')`,
      );
      expect(Number(row!.sparse)).toBe(bit);
    },
  );

  it('names every column once, and none that a listing reads on every row', () => {
    const names = columns.map((c) => c.column);
    expect(new Set(names).size).toBe(names.length);
    for (const n of names) expect(flowDenseColumns).not.toMatch(new RegExp(`\\b${n}\\b`));
    // Together, the dense columns and every group are what restoreFlow reads.
    expect(`${flowDenseColumns.replace(', sparse_fields AS r_sparse', '')}, ${sparseColumnsSql(~0)}`).toBe(
      flowRestoreColumns,
    );
  });
});

const ip = (s: string) => (s.includes(':') ? s : `::ffff:${s}`);

describeWithFixtures('common > schema > flow-row (fixtures)', () => {
  const lines = hubbleFixtureFiles().flatMap((f) => readFileSync(f, 'utf8').split('\n').filter(Boolean));
  const pick = (what: string, test: (j: { flow: Record<string, any> }) => boolean) => {
    const line = lines.find((l) => test(JSON.parse(l)));
    if (!line) throw new Error(`no fixture line for ${what}`);
    return { what, line };
  };
  const samples = [
    pick('dns', (j) => Boolean(j.flow.l7?.dns)),
    pick('http response', (j) => Boolean(j.flow.l7?.http?.code)),
    pick('icmp', (j) => Boolean(j.flow.l4?.ICMPv4)),
    pick('policy drop', (j) => j.flow.drop_reason_desc === 'POLICY_DENIED'),
    pick('redirected', (j) => j.flow.verdict === 'REDIRECTED'),
  ];

  beforeAll(async () => {
    await ingestFiles({ store, files: hubbleFixtureFiles() });
  });

  it.each(samples)('stores the $what flow field by field', async ({ line }) => {
    const json = JSON.parse(line);
    const f = json.flow;
    const [row] = await store.query<Record<string, any>>(
      `SELECT *, toString(source_ip) AS sip, toString(destination_ip) AS dip, ${flowRestoreColumns}
       FROM flows WHERE flow_id = unhex({id:String})`,
      { params: { id: Buffer.from(contentFlowId(line)).toString('hex') } },
    );
    expect(row).toBeDefined();
    const l4 = f.l4 ?? {};
    const l4name = Object.keys(l4)[0] ?? 'NONE';
    const ports = l4.TCP ?? l4.UDP ?? {};
    const nsFrac = (f.time as string).match(/\.(\d+)Z$/)?.[1]?.padEnd(9, '0') ?? '000000000';
    expect(row).toMatchObject({
      time: `${(f.time as string).slice(0, 10)} ${(f.time as string).slice(11, 19)}.${nsFrac}`,
      node_name: json.node_name,
      verdict: f.verdict,
      drop_reason_desc: f.drop_reason_desc ?? '',
      type: f.Type ?? 'UNKNOWN_TYPE',
      traffic_direction: f.traffic_direction ?? 'TRAFFIC_DIRECTION_UNKNOWN',
      is_reply: f.is_reply === undefined ? 'unknown' : String(f.is_reply),
      ip_version: f.IP.ipVersion,
      sip: ip(f.IP.source),
      dip: ip(f.IP.destination),
      l4_protocol: l4name,
      source_port: ports.source_port ?? 0,
      destination_port: ports.destination_port ?? 0,
      icmp_type: l4.ICMPv4?.type ?? l4.ICMPv6?.type ?? 0,
      source_namespace: f.source?.namespace ?? '',
      destination_namespace: f.destination?.namespace ?? '',
      source_pod: f.source?.pod_name ?? '',
      destination_pod: f.destination?.pod_name ?? '',
      source_labels: f.source?.labels ?? [],
      destination_labels: f.destination?.labels ?? [],
      source_identity: f.source?.identity ?? 0,
      destination_identity: f.destination?.identity ?? 0,
      event_type: f.event_type?.type ?? 0,
      trace_observation_point: f.trace_observation_point ?? '',
      l7_type: f.l7?.type ?? 'UNKNOWN_L7_TYPE',
      l7_protocol: f.l7?.dns ? 'dns' : f.l7?.http ? 'http' : 'none',
      dns_query: f.l7?.dns?.query ?? '',
      dns_qtypes: f.l7?.dns?.qtypes ?? [],
      dns_ips: f.l7?.dns?.ips ?? [],
      http_code: f.l7?.http?.code ?? 0,
      http_method: f.l7?.http?.method ?? '',
      http_url: f.l7?.http?.url ?? '',
      l7_latency_ns: f.l7?.latency_ns ?? '0',
      summary: f.Summary ?? '',
    });
    const flags = l4.TCP?.flags ?? {};
    const bits = ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG', 'ECE', 'CWR', 'NS'].reduce(
      (acc, name, i) => acc | (flags[name] ? 1 << i : 0),
      0,
    );
    expect(row!.tcp_flags).toBe(bits);
  });

  it('gives back every stored fixture flow exactly as imported', async () => {
    const rows = await store.query<Record<string, unknown>>(
      `SELECT lower(hex(flow_id)) AS id, ${flowRestoreColumns} FROM flows`,
    );
    expect(rows).toHaveLength(1851);
    const byId = new Map(rows.map((r) => [r['id'], r]));
    for (const line of new Set(lines)) {
      const row = byId.get(Buffer.from(contentFlowId(line)).toString('hex'));
      expect(row, line.slice(0, 80)).toBeDefined();
      const restored = toHubbleJson({ flow: restoreFlow(row!), node_name: '' } as never)['flow'];
      expect(restored).toEqual(JSON.parse(line).flow);
    }
  });

  it('gives back every fixture flow from the dense columns and the sparse groups its row names', async () => {
    const rows = await readAsListing(store);
    const masks = new Set(rows.map((r) => Number(r['r_sparse'])));
    const byId = new Map(rows.map((r) => [r['id'], r]));
    for (const line of new Set(lines)) {
      const row = byId.get(Buffer.from(contentFlowId(line)).toString('hex'));
      const restored = toHubbleJson({ flow: restoreFlow(row!), node_name: '' } as never)['flow'];
      expect(restored, line.slice(0, 80)).toEqual(JSON.parse(line).flow);
    }
    // The fixtures exercise both: rows read whole from the dense columns, and rows with groups.
    expect(masks.has(0)).toBe(true);
    const groups = S.icmp | S.l7 | S.interface | S.extra;
    expect([...masks].reduce((a, m) => a | m, 0) & groups).toBe(groups);
  });

  it('keeps only what no column holds in flow_extra', async () => {
    const [r] = await store.query<{ extra: string; rows: string }>(
      'SELECT sum(length(flow_extra)) AS extra, count() AS rows FROM flows',
    );
    // Policies, tunnel, file, deprecated `reply` and the like: a few bytes per flow on these fixtures.
    expect(Number(r!.extra) / Number(r!.rows)).toBeLessThan(8);
  });
});

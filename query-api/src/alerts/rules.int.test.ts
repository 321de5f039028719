import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createChdbStore } from '../../../common/clickhouse/chdb-store.ts';
import type { Store } from '../../../common/clickhouse/index.ts';
import { migrate } from '../../../common/clickhouse/migrator.ts';
import { alertsConfigSchema } from '../../../common/config/alerts.ts';
import { createLogger } from '../../../common/logger.ts';
import { createMetrics } from '../../../common/metrics.ts';
import { createAlertEngine } from './engine.ts';
import { type FlowSpec, owner, storeFlows } from './testing.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'ft-alerts-rules-'));
const S = 1_000_000_000n;
/** 2024-05-01T10:00:00Z */
const T0 = 1_714_557_600n * S;
const at = (seconds: number) => T0 + BigInt(Math.round(seconds * 1000)) * 1_000_000n;

// chdb keeps one session per process: hold it open for the whole file (reopening it per test
// wedges the engine) and give each test its own database.
let keeper: Store | undefined;
let store: Store | undefined;
beforeAll(async () => {
  keeper = await createChdbStore(dir, 'keeper');
});
afterEach(async () => {
  await store?.close();
  store = undefined;
});
afterAll(async () => keeper?.close());

async function fired(flows: FlowSpec[], alerts: unknown = {}, range: [number, number] = [0, 3600]) {
  store = await createChdbStore(dir, `t_${Math.random().toString(36).slice(2)}`);
  await migrate(store);
  await storeFlows(store, flows);
  const engine = createAlertEngine(alertsConfigSchema.parse(alerts), {
    store,
    logger: createLogger('test'),
    metrics: createMetrics('alerts_rules_test'),
  });
  const result = await engine.evaluateRange(at(range[0]), at(range[1]));
  return result.updates
    .map((u) => u.incident)
    .sort((a, b) => `${a.rule}/${a.tenant}`.localeCompare(`${b.rule}/${b.tenant}`));
}

const A = owner('tenant-a', 'acct-a', 'alloc-a');
const B = owner('tenant-b', 'acct-b', 'alloc-b');
const C = owner('tenant-c', 'acct-c', 'alloc-c');
const D = owner('tenant-d', 'acct-d', 'alloc-d');
const world = (i: number) => `203.0.113.${i}`;
const ids = (xs: { rule: string; tenant: string }[]) => xs.map((x) => `${x.rule}/${x.tenant}`);

/** A SYN from `o` at `t` that a policy dropped. */
const droppedSyn = (o: typeof A, src: string, dst: string, dport: number, t: number): FlowSpec => ({
  timeNs: at(t),
  src,
  dst,
  dport,
  flags: ['SYN'],
  verdict: 'DROPPED',
  isReply: false,
  srcOwner: o,
});
/** A SYN from `o` and the target's answer (RST+ACK or SYN+ACK). */
const answered = (
  o: typeof A,
  src: string,
  dst: string,
  dport: number,
  t: number,
  answer: 'RST' | 'SYN',
): FlowSpec[] => [
  { timeNs: at(t), src, dst, dport, sport: 41_000, flags: ['SYN'], isReply: false, srcOwner: o },
  {
    timeNs: at(t + 0.01),
    src: dst,
    dst: src,
    sport: dport,
    dport: 41_000,
    flags: [answer, 'ACK'],
    isReply: true,
    dstOwner: o,
  },
];

describe('query-api > alerts > rules', () => {
  it('address-scan: 25+ hosts on one port fires; 24 hosts, successes and slow sweeps do not', async () => {
    const flows: FlowSpec[] = [];
    for (let i = 1; i <= 30; i++) flows.push(droppedSyn(A, '10.0.0.1', world(i), 22, 60 + i));
    for (let i = 1; i <= 24; i++) flows.push(droppedSyn(B, '10.0.0.2', world(i), 22, 60 + i));
    for (let i = 1; i <= 30; i++) flows.push(...answered(C, '10.0.0.3', world(i), 443, 60 + i, 'SYN'));
    for (let i = 1; i <= 30; i++) flows.push(...answered(D, '10.0.0.4', world(i), 3389, 60 + i, 'RST'));
    // 30 hosts over 30 minutes: never 25 in five minutes.
    const E = owner('tenant-e', 'acct-e', 'alloc-e');
    for (let i = 1; i <= 30; i++) flows.push(droppedSyn(E, '10.0.0.5', world(i), 22, 60 * i));
    const found = await fired(flows);
    expect(ids(found)).toEqual(['address-scan/tenant-a', 'address-scan/tenant-d']);
    const a = found[0]!;
    expect(a).toMatchObject({
      account: 'acct-a',
      allocId: 'alloc-a',
      keys: ['22'],
      count: 30,
      peak: 30,
      status: 'open',
    });
    expect(a.firstSeenNs).toBe(at(61));
    expect(a.lastSeenNs).toBe(at(90));
    expect(a.samples.length).toBe(5);
    expect(a.evidenceUrl).toMatch(/^\/api\/v1\/flows\?since=.*&alloc=alloc-a&port=22/);
    expect(found[1]!.destinationAddresses).toContain('203.0.113.7');
  });

  it('port-scan: 15+ ports on one host fires; 14 ports and resets from clients of a server do not', async () => {
    const flows: FlowSpec[] = [];
    for (let p = 1; p <= 20; p++) flows.push(...answered(A, '10.0.0.1', world(5), 1000 + p, 100 + p, 'RST'));
    for (let p = 1; p <= 14; p++) flows.push(droppedSyn(B, '10.0.0.2', world(5), 1000 + p, 100 + p));
    // A health checker resetting its own probes to tenant C's server: RSTs that are not replies.
    for (let p = 1; p <= 20; p++)
      flows.push({
        timeNs: at(100 + p),
        src: '10.1.0.9',
        dst: '10.0.0.3',
        sport: 50_000 + p,
        dport: 8080,
        flags: ['RST', 'ACK'],
        isReply: false,
        dstOwner: C,
      });
    const found = await fired(flows);
    expect(ids(found)).toEqual(['port-scan/tenant-a']);
    expect(found[0]).toMatchObject({ keys: ['203.0.113.5'], peak: 20, count: 20 });
  });

  it('smtp-egress: non-allowlisted tenants and first-ever port 25 fire; known allowlisted senders and private relays do not', async () => {
    const flows: FlowSpec[] = [
      {
        timeNs: at(120),
        src: '10.0.0.1',
        dst: '198.51.100.26',
        dport: 587,
        flags: ['SYN'],
        srcOwner: A,
        dstOwner: { scope: 'world' },
      },
      // B: allowlisted, sending on port 25 since yesterday.
      { timeNs: at(-86_400), src: '10.0.0.2', dst: '198.51.100.25', dport: 25, flags: ['SYN'], srcOwner: B },
      { timeNs: at(130), src: '10.0.0.2', dst: '198.51.100.25', dport: 25, flags: ['SYN'], srcOwner: B },
      // C: allowlisted, but its first port-25 flow ever.
      { timeNs: at(140), src: '10.0.0.3', dst: '198.51.100.25', dport: 25, flags: ['SYN'], srcOwner: C },
      { timeNs: at(141), src: '10.0.0.3', dst: '198.51.100.25', dport: 25, flags: ['ACK'], srcOwner: C },
      // D: a private relay.
      {
        timeNs: at(150),
        src: '10.0.0.4',
        dst: '10.9.0.25',
        dport: 587,
        flags: ['SYN'],
        srcOwner: D,
        dstOwner: { scope: 'private' },
      },
    ];
    const found = await fired(flows, {
      rules: { 'smtp-egress': { allowTenants: ['tenant-b', 'tenant-c'] } },
    });
    expect(ids(found)).toEqual(['smtp-egress/tenant-a', 'smtp-egress/tenant-c']);
    expect(found[1]!.summary).toMatch(/first-ever port-25/);
    expect(found[0]!.summary).not.toMatch(/first-ever/);
  });

  it('flood: event rate and fan-out over thresholds fire; below them does not', async () => {
    const flows: FlowSpec[] = [];
    for (let i = 0; i < 700; i++)
      flows.push({
        timeNs: at(600 + i * 0.08),
        src: '10.0.0.1',
        dst: world(1),
        sport: 30_000 + i,
        dport: 53,
        proto: 'UDP',
        srcOwner: A,
      });
    for (let i = 0; i < 300; i++)
      flows.push({
        timeNs: at(600 + i * 0.15),
        src: '10.0.0.2',
        dst: world(1),
        sport: 30_000 + i,
        dport: 53,
        proto: 'UDP',
        srcOwner: B,
      });
    for (let i = 1; i <= 60; i++)
      flows.push({
        timeNs: at(600 + i),
        src: '10.0.0.3',
        dst: `198.51.100.${i}`,
        dport: 443,
        flags: ['SYN'],
        srcOwner: C,
      });
    const found = await fired(flows, { rules: { flood: { maxEventsPerSecond: 10, maxDestinations: 50 } } });
    expect(ids(found)).toEqual(['flood/tenant-a', 'flood/tenant-c']);
    expect(found[0]!.count).toBe(700);
  });

  it('metadata-access: any tenant flow to a metadata address fires; platform workloads do not', async () => {
    const E = owner('tenant-e', 'acct-e', 'alloc-e');
    const found = await fired([
      {
        timeNs: at(200),
        src: '10.0.0.1',
        dst: '169.254.169.254',
        dport: 80,
        flags: ['SYN'],
        srcOwner: A,
        dstOwner: { scope: 'metadata' },
      },
      {
        timeNs: at(210),
        src: 'fd00::5',
        dst: 'fd00:ec2::254',
        dport: 80,
        flags: ['SYN'],
        srcOwner: E,
        dstOwner: { scope: 'private' },
      },
      {
        timeNs: at(220),
        src: '10.0.0.9',
        dst: '169.254.169.254',
        dport: 80,
        flags: ['SYN'],
        srcOwner: { job: 'consul', source: 'ownership' },
        dstOwner: { scope: 'metadata' },
      },
    ]);
    expect(ids(found)).toEqual(['metadata-access/tenant-a', 'metadata-access/tenant-e']);
    expect(found[0]!.evidenceUrl).toContain('to-ip=169.254.169.254');
  });

  it('cross-tenant: policy-denied drops towards another tenant fire; same tenant, world and forwarded do not', async () => {
    const denied = (o: typeof A, dst: string, dstOwner: typeof A, t: number): FlowSpec => ({
      timeNs: at(t),
      src: '10.0.0.1',
      dst,
      dport: 5432,
      flags: ['SYN'],
      verdict: 'DROPPED',
      dropReason: 'POLICY_DENIED',
      srcOwner: o,
      dstOwner,
    });
    const found = await fired([
      denied(A, '10.0.1.2', { ...B, scope: 'other-tenant' }, 300),
      denied(C, '10.0.3.2', { ...owner('tenant-c', 'acct-c', 'alloc-c2') }, 300),
      denied(D, '203.0.113.9', { scope: 'world' }, 300),
      {
        timeNs: at(300),
        src: '10.0.0.4',
        dst: '10.0.1.2',
        dport: 5432,
        flags: ['SYN'],
        srcOwner: D,
        dstOwner: { ...B, scope: 'other-tenant' },
      },
    ]);
    expect(ids(found)).toEqual(['cross-tenant/tenant-a']);
    expect(found[0]!.keys).toEqual(['tenant-b']);
  });

  it('mining: pool port with a pool name fires (FQDN or DNS answer); the port alone or another name does not', async () => {
    const found = await fired([
      {
        timeNs: at(400),
        src: '10.0.0.1',
        dst: '192.0.2.34',
        dport: 3333,
        flags: ['SYN'],
        srcOwner: A,
        destinationNames: ['xmr.pool.minergate.com'],
      },
      {
        timeNs: at(390),
        src: '10.0.0.53',
        dst: '10.0.0.2',
        sport: 53,
        dport: 33_000,
        isReply: true,
        dns: { query: 'pool.supportxmr.com.', ips: ['192.0.2.40'] },
        dstOwner: B,
      },
      { timeNs: at(400), src: '10.0.0.2', dst: '192.0.2.40', dport: 4444, flags: ['SYN'], srcOwner: B },
      { timeNs: at(400), src: '10.0.0.3', dst: '192.0.2.50', dport: 8080, flags: ['SYN'], srcOwner: C },
      {
        timeNs: at(400),
        src: '10.0.0.4',
        dst: '192.0.2.51',
        dport: 3333,
        flags: ['SYN'],
        srcOwner: D,
        destinationNames: ['www.example.com'],
      },
    ]);
    expect(ids(found)).toEqual(['mining/tenant-a', 'mining/tenant-b']);
    expect(found[0]!.keys).toEqual(['xmr.pool.minergate.com']);
  });

  it('custom rules: filter, threshold and group-by', async () => {
    const flows: FlowSpec[] = [];
    for (let i = 1; i <= 3; i++)
      flows.push({
        timeNs: at(500 + i),
        src: '10.0.0.1',
        dst: world(i),
        dport: 22,
        flags: ['SYN'],
        srcOwner: A,
      });
    for (let i = 1; i <= 2; i++)
      flows.push({
        timeNs: at(500 + i),
        src: '10.0.0.2',
        dst: world(i),
        dport: 22,
        flags: ['SYN'],
        srcOwner: B,
      });
    const found = await fired(flows, {
      custom: [
        {
          name: 'ssh-out',
          filter: { 'to-port': '22' },
          threshold: { metric: 'distinct-destinations', min: 3 },
          severity: 'low',
        },
      ],
    });
    expect(ids(found)).toEqual(['ssh-out/tenant-a']);
    expect(found[0]).toMatchObject({ severity: 'low', count: 3 });
    expect(found[0]!.evidenceUrl).toContain('to-port=22');
  });

  it('deduplicates an ongoing incident within the quiet period and counts each event once', async () => {
    const flows: FlowSpec[] = [];
    for (let i = 1; i <= 30; i++) flows.push(droppedSyn(A, '10.0.0.1', world(i), 22, 60 + i));
    for (let i = 1; i <= 30; i++) flows.push(droppedSyn(A, '10.0.0.1', world(100 + i), 22, 480 + i));
    for (let i = 1; i <= 30; i++) flows.push(droppedSyn(A, '10.0.0.1', world(200 + i), 22, 3000 + i));
    const found = await fired(flows, { quietPeriodSeconds: 900 }, [0, 3600]);
    expect(found.map((f) => [f.rule, f.count, f.firstSeenNs - T0])).toEqual([
      ['address-scan', 60, 61n * S],
      ['address-scan', 30, 3001n * S],
    ]);
  });
});

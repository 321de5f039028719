import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChdbStore } from '../../../common/clickhouse/chdb-store.ts';
import { SqlParams } from '../../../common/clickhouse/sql-params.ts';
import type { Store } from '../../../common/clickhouse/store.ts';
import { tenancyConfigSchema } from '../../../common/config/tenancy.ts';
import { scopeSql } from '../../../common/flow/scope.ts';
import { createIntervalIndex } from '../../../common/ownership/interval-index.ts';
import { OPEN_END_NS } from '../../../common/ownership/types.ts';
import { createEnricher } from './index.ts';

// The scope rule's two forms (common/flow/scope.ts): the enricher's in-memory one at ingest and
// the SQL one the late-owner correction runs. Each case goes through the enricher; the SQL form
// then gets the same facts (address, tenant, source, namespace of each end) on real chdb and
// must give the same scopes.
const tenancy = tenancyConfigSchema.parse({
  platformCidrs: ['10.200.0.0/16'],
  extraPrivateCidrs: ['44.0.0.0/8'],
  platformNamespaces: ['system'],
});
const T = 1_700_000_000_000_000_000n;
const nodes = createIntervalIndex();
nodes.upsert({
  kind: 'node',
  address: '10.138.0.5',
  allocId: '',
  allocName: '',
  namespace: '',
  job: '',
  group: '',
  nodeId: 'n1',
  nodeName: 'nomad-1',
  tenant: '',
  account: '',
  start: T,
  end: OPEN_END_NS,
  nomadIndex: 1n,
});
const enricher = createEnricher(
  { tenancy },
  {
    ownership: {
      allocAt: () => undefined,
      nodeAt: (a, t) => nodes.lookup(a, t),
      namespaceTenancy: () => undefined,
    },
  },
);
const owned = (tenant: string, ns = `tenant-${tenant}`) => [
  `netreap:nomad.namespace=${ns}`,
  'netreap:nomad.job_id=web',
  `nomad:tenant=${tenant}`,
];

const cases: { name: string; src: string; dst: string; srcLabels?: string[]; dstLabels?: string[] }[] = [
  { name: 'same tenant', src: '10.0.0.1', dst: '10.0.0.2', srcLabels: owned('a'), dstLabels: owned('a') },
  { name: 'other tenant', src: '10.0.0.1', dst: '10.0.0.2', srcLabels: owned('a'), dstLabels: owned('b') },
  { name: 'metadata beats tenants', src: '10.0.0.1', dst: '169.254.169.254', srcLabels: owned('a') },
  { name: 'IPv6 metadata', src: 'fd00:a110::1', dst: 'fd00:ec2::254' },
  { name: 'one tenant to world', src: '10.0.0.1', dst: '8.8.8.8', srcLabels: owned('a') },
  { name: 'link-local', src: '10.0.0.1', dst: '169.254.10.1' },
  { name: 'platform CIDR', src: '10.200.1.1', dst: '2001:db8::1' },
  { name: 'node host address', src: '10.138.0.5', dst: '192.168.1.1' },
  { name: 'platform namespace', src: '10.0.0.1', dst: '10.0.0.2', srcLabels: owned('', 'system') },
  { name: 'extra private range', src: '44.1.2.3', dst: '100.64.0.1' },
  { name: 'no address', src: '', dst: '8.8.4.4' },
  { name: 'IPv6 private and world', src: 'fd12::1', dst: '2606:4700::1111' },
];

/** The in-memory rule's answer for a case (ingest enrichment at the case's instant). */
const enrichCase = (c: (typeof cases)[number]) =>
  enricher.enrich({
    timeNs: T + 1n,
    sourceIp: c.src,
    destinationIp: c.dst,
    sourceLabels: c.srcLabels ?? [],
    destinationLabels: c.dstLabels ?? [],
  });

let store: Store;
beforeAll(async () => {
  store = await createChdbStore(mkdtempSync(path.join(tmpdir(), 'ft-scope-')), 'scope');
});
afterAll(async () => {
  await store?.close();
});

describe('the address-scope rule: ingest (in memory) and correction (SQL) agree', () => {
  it.each(cases)('$name', async (c) => {
    const a = enrichCase(c);
    const p = new SqlParams();
    const bindEnd = (ip: string, e: typeof a.source, other: typeof a.source) =>
      scopeSql(p, tenancy, {
        ip: `toIPv6(${p.bind(ip || '::', 'String')})`,
        tenant: p.bind(e.tenant, 'String'),
        source: p.bind(e.source, 'String'),
        namespace: p.bind(e.namespace, 'String'),
        otherTenant: p.bind(other.tenant, 'String'),
      });
    const src = bindEnd(c.src, a.source, a.destination);
    const dst = bindEnd(c.dst, a.destination, a.source);
    const [row] = await store.query<{ s: string; d: string }>(`SELECT ${src} AS s, ${dst} AS d`, {
      params: p.values,
    });
    expect([row?.s, row?.d]).toEqual([a.source.scope, a.destination.scope]);
  });

  it('covers every clause of the rule', async () => {
    const seen = new Set(
      cases.flatMap((c) => {
        const a = enrichCase(c);
        return [a.source.scope, a.destination.scope];
      }),
    );
    expect([...seen].sort()).toEqual(
      [
        'link-local',
        'metadata',
        'other-tenant',
        'platform',
        'private',
        'same-tenant',
        'unknown',
        'world',
      ].sort(),
    );
  });
});

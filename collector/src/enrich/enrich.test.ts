import { describe, expect, it } from 'vitest';
import { defaultTenancyConfig, tenancyConfigSchema } from '../../../common/config/tenancy.ts';
import { decodeConflict } from '../../../common/flow/attribution.ts';
import { createIntervalIndex } from '../../../common/ownership/interval-index.ts';
import { OPEN_END_NS, type OwnerInterval, type OwnershipLookup } from '../../../common/ownership/types.ts';
import { benchEnrich } from './bench.ts';
import { createEnricher } from './index.ts';

const T0 = 1_700_000_000_000_000_000n;
const S = 1_000_000_000n;

function interval(
  p: Partial<OwnerInterval> & Pick<OwnerInterval, 'address' | 'allocId' | 'start' | 'end'>,
): OwnerInterval {
  return {
    kind: 'alloc',
    allocName: `${p.job ?? 'web'}.web[0]`,
    namespace: p.tenant ?? 'default',
    job: 'web',
    group: 'web',
    nodeId: 'node-1-id',
    nodeName: 'node-1',
    tenant: '',
    account: '',
    nomadIndex: 1n,
    ...p,
  };
}

function lookupOf(intervals: OwnerInterval[], nodes: OwnerInterval[] = []): OwnershipLookup {
  const idx = createIntervalIndex();
  const nidx = createIntervalIndex();
  for (const iv of intervals) idx.upsert(iv);
  for (const iv of nodes) nidx.upsert(iv);
  return {
    allocAt: (a, t) => idx.lookup(a, t),
    nodeAt: (a, t) => nidx.lookup(a, t),
    namespaceTenancy: (ns) =>
      ns === 'tenant-ns' ? { tenant: 'ns-tenant', account: 'ns-account' } : undefined,
  };
}

// 10.0.0.5 is held by tenant A over [T0, T0+60s), then by tenant B from T0+60s on.
const reuse = lookupOf(
  [
    interval({
      address: '10.0.0.5',
      allocId: 'alloc-a',
      tenant: 'tenant-a',
      account: 'acct-a',
      job: 'api',
      start: T0,
      end: T0 + 60n * S,
    }),
    interval({
      address: '10.0.0.5',
      allocId: 'alloc-b',
      tenant: 'tenant-b',
      account: 'acct-b',
      job: 'miner',
      start: T0 + 60n * S,
      end: OPEN_END_NS,
    }),
    interval({
      address: '10.0.0.9',
      allocId: 'alloc-c',
      tenant: 'tenant-a',
      account: 'acct-a',
      job: 'db',
      start: T0,
      end: OPEN_END_NS,
    }),
    interval({
      address: 'fd00:a110:c8::b',
      allocId: 'alloc-6',
      tenant: 'tenant-b',
      account: 'acct-b',
      start: T0,
      end: OPEN_END_NS,
    }),
  ],
  [
    interval({
      kind: 'node',
      address: '10.138.0.5',
      allocId: '',
      nodeId: 'n4',
      nodeName: 'nomad-4',
      start: 0n,
      end: OPEN_END_NS,
    }),
  ],
);

describe('collector > enrich', () => {
  const enricher = createEnricher({ tenancy: defaultTenancyConfig }, { ownership: reuse });

  it.each([
    {
      description: 'before tenant A held it',
      t: T0 - 1n,
      expected: { source: 'none', tenant: '', allocId: '' },
    },
    {
      description: 'at tenant A start',
      t: T0,
      expected: { source: 'ownership', tenant: 'tenant-a', allocId: 'alloc-a' },
    },
    {
      description: 'inside tenant A period',
      t: T0 + 30n * S,
      expected: { source: 'ownership', tenant: 'tenant-a', allocId: 'alloc-a' },
    },
    {
      description: 'last ns of tenant A',
      t: T0 + 60n * S - 1n,
      expected: { source: 'ownership', tenant: 'tenant-a', allocId: 'alloc-a' },
    },
    {
      description: 'at the handover instant',
      t: T0 + 60n * S,
      expected: { source: 'ownership', tenant: 'tenant-b', allocId: 'alloc-b' },
    },
    {
      description: 'inside tenant B period',
      t: T0 + 3600n * S,
      expected: { source: 'ownership', tenant: 'tenant-b', allocId: 'alloc-b' },
    },
  ])('address reuse: $description', ({ t, expected }) => {
    const r = enricher.enrich({
      timeNs: t,
      sourceIp: '10.0.0.5',
      destinationIp: '93.184.216.34',
      sourceLabels: [],
      destinationLabels: [],
    });
    expect(r.source).toMatchObject(expected);
    expect(r.destination).toMatchObject({ source: 'none', scope: 'world' });
    expect(r.conflict).toBe('');
  });

  it.each([
    {
      description: 'same tenant',
      src: '10.0.0.9',
      dst: '10.0.0.5',
      t: T0 + S,
      expected: ['same-tenant', 'same-tenant'],
    },
    {
      description: 'other tenant',
      src: '10.0.0.9',
      dst: '10.0.0.5',
      t: T0 + 61n * S,
      expected: ['other-tenant', 'other-tenant'],
    },
    {
      description: 'cloud metadata',
      src: '10.0.0.9',
      dst: '169.254.169.254',
      t: T0,
      expected: ['private', 'metadata'],
    },
    {
      description: 'IPv6 metadata',
      src: 'fd00:a110:c8::b',
      dst: 'fd00:ec2::254',
      t: T0,
      expected: ['private', 'metadata'],
    },
    {
      description: 'link-local',
      src: '10.0.0.9',
      dst: '169.254.10.1',
      t: T0,
      expected: ['private', 'link-local'],
    },
    {
      description: 'node address',
      src: '10.138.0.5',
      dst: '10.0.0.9',
      t: T0,
      expected: ['platform', 'private'],
    },
    {
      description: 'unowned private',
      src: '192.168.7.7',
      dst: '8.8.8.8',
      t: T0,
      expected: ['private', 'world'],
    },
  ])('scope: $description', ({ src, dst, t, expected }) => {
    const r = enricher.enrich({
      timeNs: t,
      sourceIp: src,
      destinationIp: dst,
      sourceLabels: [],
      destinationLabels: [],
    });
    expect([r.source.scope, r.destination.scope]).toEqual(expected);
  });

  it('reports a node address with source node', () => {
    const r = enricher.enrich({
      timeNs: T0,
      sourceIp: '10.138.0.5',
      destinationIp: '8.8.8.8',
      sourceLabels: [],
      destinationLabels: [],
    });
    expect(r.source).toMatchObject({ source: 'node', node: 'nomad-4', tenant: '' });
  });

  it('takes tenant and job from labels, allocation and node from ownership', () => {
    const labels = [
      'netreap:nomad.namespace=tenant-b',
      'netreap:nomad.job_id=miner',
      'netreap:nomad.task_group_id=web',
      'nomad:tenant=tenant-b',
      'nomad:account_id=acct-b',
    ];
    const r = enricher.enrich({
      timeNs: T0 + 90n * S,
      sourceIp: '10.0.0.5',
      destinationIp: '8.8.8.8',
      sourceLabels: labels,
      destinationLabels: [],
    });
    expect(r.source).toEqual({
      tenant: 'tenant-b',
      account: 'acct-b',
      namespace: 'tenant-b',
      job: 'miner',
      group: 'web',
      allocId: 'alloc-b',
      allocName: 'miner.web[0]',
      node: 'node-1',
      source: 'label',
      scope: 'private',
    });
    expect(r.conflict).toBe('');
  });

  it('on a disagreement, the owner is wholly the ownership identity and the labels are kept as the conflict', () => {
    const labels = ['netreap:nomad.namespace=tenant-a', 'netreap:nomad.job_id=api', 'nomad:tenant=tenant-a'];
    const r = enricher.enrich({
      timeNs: T0 + 90n * S,
      sourceIp: '10.0.0.5',
      destinationIp: '8.8.8.8',
      sourceLabels: labels,
      destinationLabels: [],
    });
    // One identity: tenant, account, namespace, job and allocation all from alloc-b's interval.
    expect(r.source).toEqual({
      tenant: 'tenant-b',
      account: 'acct-b',
      namespace: 'tenant-b',
      job: 'miner',
      group: 'web',
      allocId: 'alloc-b',
      allocName: 'miner.web[0]',
      node: 'node-1',
      source: 'ownership',
      scope: 'private',
    });
    const c = decodeConflict(r.conflict);
    expect(c.destination).toBeUndefined();
    expect(c.source).toEqual({
      labels: {
        tenant: 'tenant-a',
        account: expect.any(String),
        namespace: 'tenant-a',
        job: 'api',
        group: '',
      },
      ownership: {
        tenant: 'tenant-b',
        account: 'acct-b',
        namespace: 'tenant-b',
        job: 'miner',
        group: 'web',
        alloc_id: 'alloc-b',
      },
      fields: expect.arrayContaining(['tenant', 'namespace', 'job']),
    });
  });

  it('attributes from labels alone when ownership knows nothing (Nomad API down)', () => {
    const empty = createEnricher({ tenancy: defaultTenancyConfig }, { ownership: lookupOf([]) });
    const labels = [
      'netreap:nomad.namespace=tenant-ns',
      'netreap:nomad.job_id=web',
      'netreap:nomad.task_group_id=g',
    ];
    const r = empty.enrich({
      timeNs: T0,
      sourceIp: '10.1.1.1',
      destinationIp: '10.1.1.2',
      sourceLabels: labels,
      destinationLabels: ['nomad:tenant=t2', 'netreap:nomad.job_id=x'],
    });
    expect(r.source).toMatchObject({
      source: 'label',
      namespace: 'tenant-ns',
      job: 'web',
      group: 'g',
      tenant: 'ns-tenant',
      account: 'ns-account',
      allocId: '',
    });
    expect(r.destination).toMatchObject({ source: 'label', tenant: 't2', job: 'x' });
    expect([r.source.scope, r.destination.scope]).toEqual(['other-tenant', 'other-tenant']);
  });

  it('uses configured CIDR owners, platform ranges and platform namespaces', () => {
    const config = tenancyConfigSchema.parse({
      platformCidrs: ['10.200.0.0/16'],
      platformNamespaces: ['system'],
      cidrOwners: [{ cidr: '203.0.113.0/24', name: 'partner-vpn', tenant: 'tenant-a' }],
    });
    const e = createEnricher({ tenancy: config }, { ownership: lookupOf([]) });
    const r = e.enrich({
      timeNs: T0,
      sourceIp: '203.0.113.9',
      destinationIp: '10.200.1.1',
      sourceLabels: [],
      destinationLabels: ['netreap:nomad.namespace=system'],
    });
    expect(r.source).toMatchObject({ source: 'cidr', job: 'partner-vpn', tenant: 'tenant-a' });
    expect(r.destination).toMatchObject({ source: 'label', namespace: 'system', scope: 'platform' });
  });

  it('never guesses an unknown address', () => {
    const r = enricher.enrich({
      timeNs: T0,
      sourceIp: '10.99.99.99',
      destinationIp: '',
      sourceLabels: [],
      destinationLabels: [],
    });
    expect(r.source).toMatchObject({ source: 'none', tenant: '', allocId: '', scope: 'private' });
    expect(r.destination).toMatchObject({ source: 'none', scope: 'unknown' });
  });

  it('runs the benchmark function (numbers come from flowtrail bench, not from here)', () => {
    const r = benchEnrich(1000, { addresses: 100, intervalsPerAddress: 2 });
    expect(r.flows).toBe(1000);
    expect(r.intervals).toBe(200);
  });
});

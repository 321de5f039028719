import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { describeWithFixtures, nomadFixture } from '../../../common/testing/fixtures.ts';
import { parseNomadJson } from './json.ts';
import { toAllocation, toEventFrame, toNamespace, toNode } from './types.ts';

const read = (name: string) => readFileSync(nomadFixture(name), 'utf8');

describeWithFixtures('collector > nomad > types on ../shared/fixtures/nomad', () => {
  it('reads the CNI allocation exactly: address, ns times, job and group meta', () => {
    const a = toAllocation(parseNomadJson(read('allocation-read-cni.composite.json')));
    expect(a).toMatchObject({
      id: 'a8198d79-cfdb-6593-a999-1e9adabcba2e',
      namespace: 'tenant-acme',
      jobId: 'example',
      taskGroup: 'cache',
      nodeName: 'nomad-4',
      address: '172.16.248.190',
      addressIPv6: '',
      hasNetworkStatus: true,
      createTime: 1636017249798459000n,
      modifyTime: 1636017262190928000n,
      modifyIndex: 57n,
    });
    expect(a.jobMeta).toMatchObject({ tenant: 'acme', account_id: 'acct-0042' });
    expect(a.groupMeta).toEqual({ tier: 'cache' });
  });

  it('reads the legacy docs allocation (no Namespace, no NetworkStatus) with defaults', () => {
    const a = toAllocation(parseNomadJson(read('allocation-read.docs.json')));
    expect(a.namespace).toBe('default');
    expect(a.hasNetworkStatus).toBe(false);
    expect(a.address).toBe('');
  });

  it('reads the composite event stream: heartbeats, PlanResult without address, then the address', () => {
    const frames = read('event-stream-allocation.composite.ndjson')
      .split('\n')
      .filter(Boolean)
      .map((l) => toEventFrame(parseNomadJson(l)));
    expect(frames[0]).toEqual({ index: 0n, events: [] });
    const plan = frames[1]!;
    expect(plan.index).toBe(54n);
    expect(plan.events.map((e) => [e.topic, e.type])).toEqual([
      ['Allocation', 'PlanResult'],
      ['Job', 'PlanResult'],
    ]);
    expect(plan.events[0]!.allocation?.hasNetworkStatus).toBe(false);
    expect(plan.events[1]!.job?.meta).toMatchObject({ tenant: 'acme' });
    expect(frames[2]!.events[0]!.allocation).toMatchObject({
      address: '172.16.248.190',
      clientStatus: 'pending',
      modifyTime: 1636017249901000000n,
    });
  });

  it('reads namespaces and nodes lists', () => {
    const ns = (parseNomadJson(read('namespaces-list.docs.json')) as unknown[]).map(toNamespace);
    expect(ns.map((n) => [n.name, n.meta])).toEqual([
      ['default', {}],
      ['staging', { type: 'dev', contact: 'helpdesk@example.com' }],
    ]);
    const nodes = (parseNomadJson(read('nodes-list.docs.json')) as unknown[]).map(toNode);
    expect(nodes[0]).toMatchObject({ name: 'nomad-4', addresses: ['10.138.0.5'] });
  });
});

describe('collector > nomad > types', () => {
  it.each([
    { description: 'missing', raw: { ID: 'x' } },
    {
      description: 'null',
      raw: { ID: 'x', ModifyTime: null, NetworkStatus: null, Namespace: null, ClientStatus: null },
    },
    { description: 'zero', raw: { ID: 'x', ModifyTime: 0, Namespace: '', ClientStatus: '' } },
  ])('treats $description fields alike', ({ raw }) => {
    expect(toAllocation(raw)).toMatchObject({
      modifyTime: 0n,
      namespace: 'default',
      clientStatus: '',
      address: '',
      hasNetworkStatus: false,
    });
  });

  it('reads node addresses from every place a node shows them, skipping loopback', () => {
    const n = toNode({
      ID: 'n',
      HTTPAddr: '[2001:db8::7]:4646',
      Attributes: { 'unique.network.ip-address': '10.0.0.7' },
      NodeResources: {
        NodeNetworks: [{ Addresses: [{ Address: '::1' }, { Address: '192.168.1.7' }] }],
        Networks: [{ Mode: 'host', IP: '127.0.0.1' }],
      },
    });
    expect(n.addresses.sort()).toEqual(['10.0.0.7', '192.168.1.7', '2001:db8::7']);
  });
});

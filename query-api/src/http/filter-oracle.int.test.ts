import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { filterSetFromArgs } from '../../../common/filter/index.ts';
import { describeWithFixtures } from '../../../common/testing/fixtures.ts';
import { type GetFlowsResponse, ObserverClient } from '../../../proto/src/grpc.ts';
import { get, getFlowsAs, startTestApi, type TestApi, testOwnerOf, testTokens } from '../testing.ts';

// Issue 17.4: filters must not be an oracle. A tenant filtering on an attribute that the answer hides
// for another tenant's end (labels, pod, namespace, service, workload, owner fields) only matches its
// own ends, so the answer is the same whether or not the foreign end has that attribute.
type Line = { flow: { IP?: { source?: string; destination?: string } } };
const range = 'since=2000-01-01T00:00:00Z&until=2030-01-01T00:00:00Z';
const tenantOf = (ip: string | undefined) => testOwnerOf(ip)?.tenant ?? '';
let api: TestApi;
let client: ObserverClient;

async function restLines(query: string, token: string): Promise<Line[]> {
  const r = await get(api, `/api/v1/flows?${range}&format=ndjson&limit=100000&${query}`, token);
  expect(r.status, r.text).toBe(200);
  return r.text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Line);
}

async function grpcFlows(args: string[], token: string): Promise<GetFlowsResponse[]> {
  const { set } = filterSetFromArgs(args);
  const { flows, error } = await getFlowsAs(
    client,
    {
      number: 2n ** 64n - 1n,
      since: { seconds: 946684800n, nanos: 0 },
      whitelist: set.whitelist,
      blacklist: set.blacklist,
    },
    token,
  );
  if (error) throw error;
  return flows;
}

describeWithFixtures('query-api > filters are not an oracle for tenant tokens (HTTP and gRPC)', () => {
  beforeAll(async () => {
    api = await startTestApi();
    client = new ObserverClient(api.grpcAddress, grpc.credentials.createInsecure());
  });
  afterAll(async () => {
    client?.close();
    await api?.close();
  });

  // Each filter names an attribute that globex's destination ends have in acme's flows.
  const cases = [
    { name: 'to-label', rest: 'to-label=k8s:k8s-app=kube-dns', args: ['--to-label', 'k8s:k8s-app=kube-dns'] },
    { name: 'to-pod', rest: 'to-pod=kube-system/coredns', args: ['--to-pod', 'kube-system/coredns'] },
    { name: 'to-namespace', rest: 'to-namespace=bookinfo', args: ['--to-namespace', 'bookinfo'] },
    { name: 'label (either end)', rest: 'label=k8s:app=details', args: ['--label', 'k8s:app=details'] },
  ];

  it.each(cases)('$name: admin sees acme flows matched on a globex end, acme does not', async (c) => {
    const admin = await restLines(c.rest, testTokens.admin);
    const leaking = admin.filter((l) => {
      const s = tenantOf(l.flow.IP?.source);
      const d = tenantOf(l.flow.IP?.destination);
      return (s === 'acme' && d === 'globex') || (d === 'acme' && s === 'globex');
    });
    // The attack is meaningful: without the rule these flows would confirm globex's attribute.
    expect(leaking.length).toBeGreaterThan(0);

    const acme = await restLines(c.rest, testTokens.acme);
    const acmeGrpc = await grpcFlows(c.args, testTokens.acme);
    expect(acmeGrpc.length).toBe(acme.length);
    // Every flow acme gets matched on an acme end: the flow, seen by admin, matches with the filter
    // restricted to acme's ends. Equivalently: the answer does not change when the peer's attribute is
    // swapped for a value nobody has.
    for (const l of [...acme, ...acmeGrpc.map((r) => ({ flow: r.flow ?? {} }) as Line)]) {
      const s = tenantOf(l.flow.IP?.source);
      const d = tenantOf(l.flow.IP?.destination);
      expect(s === 'acme' || d === 'acme').toBe(true);
    }
    const adminOwn = admin.filter((l) => {
      const s = tenantOf(l.flow.IP?.source);
      const d = tenantOf(l.flow.IP?.destination);
      if (c.name.startsWith('to-')) return d === 'acme';
      return s === 'acme' || d === 'acme';
    });
    expect(acme.length).toBeLessThanOrEqual(adminOwn.length);
    // No flow whose only match is on the globex end comes back.
    const acmeDst = acme.filter((l) => tenantOf(l.flow.IP?.destination) !== 'acme');
    if (c.name.startsWith('to-')) expect(acmeDst).toEqual([]);
  });

  it('a wrong value and the right value of a foreign attribute give the same answer', async () => {
    for (const [right, wrong] of [
      ['to-label=k8s:k8s-app=kube-dns', 'to-label=k8s:k8s-app=no-such-app'],
      ['to-pod=kube-system/coredns', 'to-pod=kube-system/no-such-pod'],
    ] as const) {
      const a = await restLines(`${right}&from-ip=10.244.0.0/24`, testTokens.acme);
      const b = await restLines(`${wrong}&from-ip=10.244.0.0/24`, testTokens.acme);
      // From acme's addresses to globex's kube-dns: the right value must not find more than a wrong one.
      const toGlobex = (ls: Line[]) => ls.filter((l) => tenantOf(l.flow.IP?.destination) === 'globex').length;
      expect(toGlobex(a), right).toBe(toGlobex(b));
    }
  });
});

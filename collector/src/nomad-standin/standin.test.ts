import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeWithFixtures, nomadFixture } from '../../../common/testing/fixtures.ts';
import { createNomadClient, NomadError } from '../nomad/client.ts';
import { parseNomadJson } from '../nomad/json.ts';
import { createScenario } from './scenario.ts';
import { createNomadStandin, type NomadStandin } from './server.ts';

const keysOf = (v: unknown) => Object.keys(v as object);
const sorted = (ks: string[]) => [...ks].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
const fixtureJson = (name: string) =>
  parseNomadJson(readFileSync(nomadFixture(name), 'utf8')) as Record<string, unknown>;

let standin: NomadStandin;
let base: string;
const scenario = createScenario({ tenants: 2, addressPool: '10.42.0.0/29', seed: 7 });

async function get(path: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${base}${path}`, { headers });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

beforeAll(async () => {
  scenario.setup();
  scenario.step();
  standin = createNomadStandin({ state: scenario.state, heartbeatMs: 200 });
  base = await standin.listen();
});
afterAll(async () => {
  await standin.close();
});

describeWithFixtures('test > nomad-standin > shapes against ../shared/fixtures/nomad', () => {
  it('encodes a full allocation like the CNI composite: sorted keys, zero fields omitted, ns integers', async () => {
    const id = scenario.running()[0]!.allocId;
    const r = await get(`/v1/allocation/${id}`);
    expect(r.status).toBe(200);
    expect(r.headers.get('x-nomad-index')).toMatch(/^\d+$/);
    const ours = parseNomadJson(r.text) as Record<string, unknown>;
    const fixture = fixtureJson('allocation-read-cni.composite.json');
    expect(keysOf(ours)).toEqual(sorted(keysOf(ours)));
    for (const k of keysOf(ours)) {
      expect(keysOf(fixture).concat(['DesiredDescription', 'ClientDescription'])).toContain(k);
      expect([null, '', 0, false]).not.toContain(ours[k]);
    }
    expect(keysOf(ours['NetworkStatus'])).toEqual(keysOf(fixture['NetworkStatus']));
    expect(r.text).toMatch(/"ModifyTime":\d{19}[,}]/);
    expect(r.text).toMatch(/"CreateTime":\d{19}[,}]/);
  });

  it('lists allocation stubs with every field of the docs sample and no NetworkStatus', async () => {
    const r = await get('/v1/allocations?namespace=*');
    const ours = parseNomadJson(r.text) as Record<string, unknown>[];
    const docs = (
      parseNomadJson(readFileSync(nomadFixture('allocations-list.docs.json'), 'utf8')) as Record<
        string,
        unknown
      >[]
    )[0]!;
    expect(ours.length).toBe(scenario.state.allocs.size);
    for (const k of keysOf(docs)) expect(keysOf(ours[0])).toContain(k);
    expect(keysOf(ours[0])).not.toContain('NetworkStatus');
    expect(keysOf(ours[0])).toEqual(sorted(keysOf(ours[0])));
  });

  it.each([
    { path: '/v1/namespaces', fixture: 'namespaces-list.docs.json', exact: true },
    { path: '/v1/nodes?os=true', fixture: 'nodes-list.docs.json', exact: false },
  ])('lists $path with the docs sample fields', async ({ path, fixture, exact }) => {
    const ours = parseNomadJson((await get(path)).text) as Record<string, unknown>[];
    const docs = (
      parseNomadJson(readFileSync(nomadFixture(fixture), 'utf8')) as Record<string, unknown>[]
    )[0]!;
    if (exact) expect(keysOf(ours[0])).toEqual(sorted(keysOf(docs)));
    else for (const k of keysOf(docs)) expect(keysOf(ours[0])).toContain(k);
  });

  it('streams NDJSON frames shaped like the composite capture, heartbeat first, without Job in allocations', async () => {
    const ctl = new AbortController();
    const res = await fetch(`${base}/v1/event/stream?topic=Allocation&topic=Job&namespace=*&index=0`, {
      signal: ctl.signal,
    });
    const reader = res.body!.getReader();
    let text = '';
    while (text.split('\n').length < 6) text += new TextDecoder().decode((await reader.read()).value);
    ctl.abort();
    const lines = text.split('\n').filter(Boolean);
    expect(lines[0]).toBe('{}');
    const capture = readFileSync(nomadFixture('event-stream-allocation.composite.ndjson'), 'utf8')
      .split('\n')
      .filter(Boolean);
    const theirs = parseNomadJson(capture[1]!) as { Events: Record<string, unknown>[] };
    const frame = parseNomadJson(lines[1]!) as { Events: Record<string, unknown>[]; Index: string | number };
    expect(keysOf(frame)).toEqual(['Events', 'Index']);
    expect(keysOf(frame.Events[0])).toEqual(keysOf(theirs.Events[0]));
    for (const l of lines.slice(1)) {
      for (const e of (
        parseNomadJson(l) as { Events: { Payload: Record<string, Record<string, unknown>> }[] }
      ).Events) {
        if (e.Payload['Allocation']) expect(keysOf(e.Payload['Allocation'])).not.toContain('Job');
      }
    }
  });
});

describe('test > nomad-standin > protocol', () => {
  it.each([
    { path: '/v1/allocation/00000000-0000-0000-0000-000000000000', status: 404, body: 'alloc not found' },
    { path: '/v1/node/nope', status: 404, body: 'node not found' },
    { path: '/v1/namespaces?index=abc', status: 400, body: 'Invalid index' },
    { path: '/v1/namespaces?index=5&wait=soon', status: 400, body: 'Invalid wait time' },
  ])('answers $path with plain-text $status', async ({ path, status, body }) => {
    const r = await get(path);
    expect(r.status).toBe(status);
    expect(r.headers.get('content-type')).toBe('text/plain');
    expect(r.text).toBe(body);
  });

  it('blocks until the table changes and returns a higher X-Nomad-Index', async () => {
    const first = await get('/v1/allocations?namespace=*');
    const index = first.headers.get('x-nomad-index')!;
    const pending = get(`/v1/allocations?namespace=*&index=${index}&wait=5s`);
    setTimeout(() => scenario.step(), 100);
    const r = await pending;
    expect(BigInt(r.headers.get('x-nomad-index')!)).toBeGreaterThan(BigInt(index));
  });

  it('enforces ACLs like Nomad: 403 for bad tokens, 500 Unknown allocation for a forbidden namespace', async () => {
    const acl = createNomadStandin({
      state: scenario.state,
      tokens: { mgmt: { namespaces: '*' }, narrow: { namespaces: ['tenant-nobody'] } },
    });
    const url = await acl.listen();
    try {
      const id = scenario.running()[0]!.allocId;
      const client = (token: string) =>
        createNomadClient({
          address: url,
          token,
          region: '',
          caCertFile: '',
          requestTimeoutMs: 5000,
          blockingWaitSeconds: 5,
        });
      await expect(client('bogus').listAllocations()).rejects.toMatchObject({ kind: 'denied', status: 403 });
      const err = await client('narrow')
        .readAllocation(id)
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NomadError);
      expect((err as NomadError).kind).toBe('unknown-allocation');
      expect((err as NomadError).message).toContain('may not read its namespace');
      const full = await client('mgmt').readAllocation(id);
      expect(full.address).toBe(scenario.running()[0]!.address);
      expect(full.modifyTime).toBe(scenario.state.allocs.get(id)!['ModifyTime']);
    } finally {
      await acl.close();
    }
  });

  it('gives the client exact nanosecond times and job meta through a full read', async () => {
    const client = createNomadClient({
      address: base,
      token: '',
      region: '',
      caCertFile: '',
      requestTimeoutMs: 5000,
      blockingWaitSeconds: 5,
    });
    const w = scenario.running()[0]!;
    const a = await client.readAllocation(w.allocId);
    expect(a).toMatchObject({
      id: w.allocId,
      namespace: w.namespace,
      jobId: w.job,
      address: w.address,
      hasNetworkStatus: true,
    });
    expect(a.jobMeta).toEqual({ account_id: w.account, tenant: w.tenant });
    const list = await client.listAllocations();
    expect(list.items.every((s) => !s.hasNetworkStatus)).toBe(true);
    expect(list.index).toBe(scenario.state.tableIndex.allocs);
  });
});

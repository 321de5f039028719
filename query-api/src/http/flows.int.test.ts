import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithFixtures, hubbleFixtureFiles } from '../../../common/testing/fixtures.ts';
import { get, startTestApi, type TestApi, testTokens } from '../testing.ts';

type J = Record<string, any>;

/** Canonical text of a JSON value (sorted keys), to compare flows independently of key order. */
function canon(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canon).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canon((v as J)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/** Every fixture flow, parsed with JSON.parse only (independent of our codec). */
function fixtureFlows(): J[] {
  const out: J[] = [];
  for (const f of hubbleFixtureFiles()) {
    for (const line of readFileSync(f, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      const o = JSON.parse(line) as J;
      if (o['flow']) out.push(o['flow'] as J);
    }
  }
  return out;
}

const v4 = (s: string) => s.split('.').reduce((a, o) => a * 256 + Number(o), 0);
const inCidr = (ip: string | undefined, cidr: string) => {
  if (!ip || ip.includes(':')) return false;
  const [net, bits] = cidr.split('/');
  const size = 2 ** (32 - Number(bits));
  return Math.floor(v4(ip) / size) === Math.floor(v4(net!) / size);
};
const l4name = (f: J) => Object.keys(f['l4'] ?? {})[0];
const ports = (f: J) => {
  const l = f['l4']?.[l4name(f) ?? ''] ?? {};
  return [l['source_port'] ?? 0, l['destination_port'] ?? 0] as [number, number];
};
const labels = (f: J, side: string): string[] => f[side]?.['labels'] ?? [];
const urlPath = (u: string | undefined) => (u ? new URL(u).pathname : '');

/** Filter → independent predicate over the fixture JSON. */
const cases: { description: string; query: string; expected: (f: J) => boolean }[] = [
  {
    description: 'ip CIDR either end',
    query: 'ip=10.244.1.0/24',
    expected: (f) =>
      inCidr(f['IP']?.source, '10.244.1.0/24') || inCidr(f['IP']?.destination, '10.244.1.0/24'),
  },
  {
    description: 'from-ip exact',
    query: 'from-ip=10.156.2.3',
    expected: (f) => f['IP']?.source === '10.156.2.3',
  },
  {
    description: 'to-ip repeated (OR)',
    query: 'to-ip=10.156.2.2&to-ip=10.156.2.7',
    expected: (f) => ['10.156.2.2', '10.156.2.7'].includes(f['IP']?.destination),
  },
  { description: 'port either end', query: 'port=53', expected: (f) => ports(f).includes(53) },
  { description: 'to-port', query: 'to-port=80', expected: (f) => ports(f)[1] === 80 },
  { description: 'protocol udp', query: 'protocol=udp', expected: (f) => l4name(f) === 'UDP' },
  {
    description: 'protocol icmp',
    query: 'protocol=icmp',
    expected: (f) => ['ICMPv4', 'ICMPv6'].includes(l4name(f) ?? ''),
  },
  {
    description: 'protocol http or dns (OR)',
    query: 'protocol=http&protocol=DNS',
    expected: (f) => !!f['l7']?.http || !!f['l7']?.dns,
  },
  { description: 'verdict', query: 'verdict=DROPPED', expected: (f) => f['verdict'] === 'DROPPED' },
  {
    description: 'verdict repeated',
    query: 'verdict=dropped&verdict=redirected',
    expected: (f) => ['DROPPED', 'REDIRECTED'].includes(f['verdict']),
  },
  {
    description: 'drop-reason',
    query: 'drop-reason=POLICY_DENIED',
    expected: (f) => f['drop_reason_desc'] === 'POLICY_DENIED',
  },
  { description: 'type l7', query: 'type=l7', expected: (f) => f['event_type']?.type === 129 },
  {
    description: 'type trace:to-endpoint',
    query: 'type=trace:to-endpoint',
    expected: (f) => f['event_type']?.type === 4 && (f['event_type']?.sub_type ?? 0) === 0,
  },
  {
    description: 'traffic-direction',
    query: 'traffic-direction=ingress',
    expected: (f) => f['traffic_direction'] === 'INGRESS',
  },
  {
    description: 'label any source',
    query: 'label=k8s-app=kube-dns',
    expected: (f) =>
      [...labels(f, 'source'), ...labels(f, 'destination')].some(
        (l) => l.replace(/^[^:]*:/, '') === 'k8s-app=kube-dns',
      ),
  },
  {
    description: 'from-label with source',
    query: 'from-label=reserved:host',
    expected: (f) => labels(f, 'source').includes('reserved:host'),
  },
  {
    description: 'to-label, two requirements ANDed',
    query: 'to-label=k8s:app,!k8s:version',
    expected: (f) =>
      labels(f, 'destination').some((l) => l.startsWith('k8s:app=')) &&
      !labels(f, 'destination').some((l) => l.startsWith('k8s:version=')),
  },
  {
    description: 'identity either end',
    query: 'identity=1',
    expected: (f) => f['source']?.identity === 1 || f['destination']?.identity === 1,
  },
  {
    description: 'node glob',
    query: 'node=gke-*',
    expected: (f) => (f['node_name'] ?? '').startsWith('gke-'),
  },
  {
    description: 'node without cluster prefix',
    query: 'node=kind-worker',
    expected: (f) => (f['node_name'] ?? '').split('/').pop() === 'kind-worker',
  },
  {
    description: 'namespace either end',
    query: 'namespace=kube-system',
    expected: (f) =>
      f['source']?.namespace === 'kube-system' || f['destination']?.namespace === 'kube-system',
  },
  {
    description: 'pod ns/prefix',
    query: 'pod=kube-system/coredns',
    expected: (f) =>
      ['source', 'destination'].some(
        (s) => f[s]?.namespace === 'kube-system' && (f[s]?.pod_name ?? '').startsWith('coredns'),
      ),
  },
  { description: 'http-method', query: 'http-method=get', expected: (f) => f['l7']?.http?.method === 'GET' },
  {
    description: 'http-status prefix',
    query: 'http-status=2%2B',
    expected: (f) => String(f['l7']?.http?.code ?? '').startsWith('2'),
  },
  {
    description: 'http-path regex',
    query: 'http-path=%5E/metrics%24',
    expected: (f) => !!f['l7']?.http && urlPath(f['l7'].http.url) === '/metrics',
  },
  {
    description: 'dns-query regex',
    query: 'dns-query=istio-system%5C.svc',
    expected: (f) => /istio-system\.svc/.test(f['l7']?.dns?.query ?? ''),
  },
  {
    description: 'different filters ANDed',
    query: 'verdict=FORWARDED&protocol=tcp&namespace=kube-system',
    expected: (f) =>
      f['verdict'] === 'FORWARDED' &&
      l4name(f) === 'TCP' &&
      (f['source']?.namespace === 'kube-system' || f['destination']?.namespace === 'kube-system'),
  },
  {
    description: 'tenant (attribution)',
    query: 'tenant=globex',
    expected: (f) =>
      inCidr(f['IP']?.source, '10.244.1.0/24') || inCidr(f['IP']?.destination, '10.244.1.0/24'),
  },
  {
    description: 'not-tenant leaves that tenant out (the "exclude it" pivot)',
    query: 'not-tenant=globex',
    expected: (f) =>
      !inCidr(f['IP']?.source, '10.244.1.0/24') && !inCidr(f['IP']?.destination, '10.244.1.0/24'),
  },
  {
    description: 'an exclusion ANDed with positive words',
    query: 'verdict=FORWARDED&not-account=acme-2&not-tenant=globex',
    expected: (f) =>
      f['verdict'] === 'FORWARDED' &&
      ![f['IP']?.source, f['IP']?.destination].some(
        (ip) => inCidr(ip, '10.244.1.0/24') || inCidr(ip, '10.156.2.0/24'),
      ),
  },
  {
    description: 'account + job',
    query: 'account=acme-2&job=dns',
    expected: (f) =>
      inCidr(f['IP']?.source, '10.156.2.0/24') || inCidr(f['IP']?.destination, '10.156.2.0/24'),
  },
  {
    description: 'from-tenant (the source end only)',
    query: 'from-tenant=globex',
    expected: (f) => inCidr(f['IP']?.source, '10.244.1.0/24'),
  },
  {
    description: 'to-account + to-job (the destination end only)',
    query: 'to-account=acme-2&to-job=dns',
    expected: (f) => inCidr(f['IP']?.destination, '10.156.2.0/24'),
  },
  {
    description: 'from-tenant with a negated Hubble word',
    query: 'from-tenant=globex&not-verdict=DROPPED',
    expected: (f) => inCidr(f['IP']?.source, '10.244.1.0/24') && f['verdict'] !== 'DROPPED',
  },
];

const range = 'since=2000-01-01T00:00:00Z&until=2030-01-01T00:00:00Z';
let api: TestApi;
let all: J[];

describeWithFixtures('query-api > http > flows', () => {
  beforeAll(async () => {
    api = await startTestApi();
    all = [...new Map(fixtureFlows().map((f) => [canon(f), f])).values()];
  });
  afterAll(async () => api?.close());

  it.each(cases)('$description', async ({ query, expected }) => {
    const r = await get(api, `/api/v1/flows?${range}&${query}&format=ndjson&limit=100000`, testTokens.admin);
    expect(r.status, r.text).toBe(200);
    const got = r.text
      .split('\n')
      .filter(Boolean)
      .map((l) => canon((JSON.parse(l) as J)['flow']));
    const want = all.filter(expected).map(canon);
    expect(want.length).toBeGreaterThan(0);
    expect(new Set(got)).toEqual(new Set(want));
    expect(got.length).toBe(new Set(got).size);
  });

  it('serves every fixture flow exactly once with attribution, newest first by default', async () => {
    const r = await get(api, `/api/v1/flows?${range}&format=ndjson&limit=100000`, testTokens.admin);
    const lines = r.text
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as J);
    expect(new Set(lines.map((l) => canon(l['flow'])))).toEqual(new Set(all.map(canon)));
    const times = lines.map((l) => l['time'] as string);
    expect([...times].sort().reverse()).toEqual(times);
    const first = lines.find((l) => l['flow']['IP']?.source?.startsWith('10.244.1.'));
    expect(first?.['attribution'].source).toMatchObject({
      tenant: 'globex',
      account: 'globex-1',
      job: 'api',
      source: 'ownership',
      start: null,
      end: null,
    });
    expect(Object.keys(lines[0]!)).toEqual(['flow', 'node_name', 'time', 'attribution']);
  });

  it('gives back every fixture flow exactly in JSON pages (rows with L7, ICMP or interface fields too)', async () => {
    // A page reads the mostly empty column groups only for its rows that have them (flows.ts).
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const r = await get(
        api,
        `/api/v1/flows?${range}&limit=500${cursor ? `&cursor=${cursor}` : ''}`,
        testTokens.admin,
      );
      expect(r.status, r.text).toBe(200);
      seen.push(...(r.body as J)['flows'].map((f: J) => canon(f['flow'])));
      cursor = (r.body as J)['next_cursor'];
    } while (cursor && seen.length <= all.length);
    // Sorted lists, not sets: a row given twice, or one left out for a twin, fails too.
    expect(seen.sort()).toEqual(all.map(canon).sort());
    for (const group of ['l7', 'interface', 'l4.ICMPv4'])
      expect(
        all.some((f) => group.split('.').reduce((o: J | undefined, k) => o?.[k], f)),
        group,
      ).toBe(true);
  });

  it('pages with an opaque cursor without gaps or repeats, oldest first', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const r = await get(
        api,
        `/api/v1/flows?${range}&protocol=dns&order=oldest&limit=50${cursor ? `&cursor=${cursor}` : ''}`,
        testTokens.admin,
      );
      expect(r.status).toBe(200);
      const b = r.body as J;
      seen.push(...b['flows'].map((f: J) => canon(f['flow'])));
      cursor = b['next_cursor'];
      pages++;
    } while (cursor && pages < 100);
    const want = all.filter((f) => !!f['l7']?.dns).map(canon);
    expect(seen.length).toBe(want.length);
    expect(new Set(seen)).toEqual(new Set(want));
    expect(pages).toBeGreaterThan(1);
  });

  it('sorts by a whitelisted column, pages that order through the cursor, and exports it', async () => {
    const pageThrough = async (q: string) => {
      const got: J[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const r = await get(
          api,
          `/api/v1/flows?${range}&${q}&limit=37${cursor ? `&cursor=${cursor}` : ''}`,
          testTokens.admin,
        );
        expect(r.status).toBe(200);
        got.push(...(r.body as J)['flows'].map((f: J) => f['flow']));
        cursor = (r.body as J)['next_cursor'];
        pages++;
      } while (cursor && pages < 200);
      expect(pages).toBeGreaterThan(1);
      return got;
    };
    const want = all.filter((f) => l4name(f) === 'TCP');
    // Destination port, largest first; every flow once.
    const byPort = await pageThrough('protocol=tcp&sort=dst_port&order=desc');
    expect(byPort.length).toBe(want.length);
    expect(new Set(byPort.map(canon))).toEqual(new Set(want.map(canon)));
    const portsSeen = byPort.map((f) => ports(f)[1]);
    expect(portsSeen).toEqual([...portsSeen].sort((a, b) => b - a));
    // Verdict by name, ascending.
    const byVerdict = await pageThrough('protocol=tcp&sort=verdict&order=asc');
    const verdicts = byVerdict.map((f) => String(f['verdict']));
    expect(verdicts).toEqual([...verdicts].sort());
    expect(byVerdict.length).toBe(want.length);
    // The NDJSON export follows the same order.
    const nd = await get(
      api,
      `/api/v1/flows?${range}&protocol=tcp&sort=dst_port&order=desc&format=ndjson`,
      testTokens.admin,
    );
    const exported = nd.text
      .trim()
      .split('\n')
      .map((l) => ports((JSON.parse(l) as J)['flow'])[1]);
    expect(exported).toEqual(portsSeen);
    // Not a column, or SQL: a 400 naming sort; a cursor of another sort is refused.
    for (const bad of ['summary', 'time;DROP TABLE flows', 'source_ip']) {
      const r = await get(api, `/api/v1/flows?${range}&sort=${encodeURIComponent(bad)}`, testTokens.admin);
      expect(r.status).toBe(400);
      expect((r.body as J)['error']['param']).toBe('sort');
    }
    const first = await get(api, `/api/v1/flows?${range}&sort=dst_port&limit=5`, testTokens.admin);
    const c = (first.body as J)['next_cursor'];
    const other = await get(api, `/api/v1/flows?${range}&sort=verdict&limit=5&cursor=${c}`, testTokens.admin);
    expect(other.status).toBe(400);
  });

  it('answers CSV by Accept', async () => {
    const r = await get(api, `/api/v1/flows?${range}&verdict=DROPPED&limit=1000`, testTokens.admin, {
      accept: 'text/csv',
    });
    expect(r.headers.get('content-type')).toContain('text/csv');
    const rows = r.text.trim().split('\r\n');
    expect(rows[0]).toMatch(/^time,flow_id,node_name,verdict,/);
    expect(rows.length - 1).toBe(all.filter((f) => f['verdict'] === 'DROPPED').length);
  });
});

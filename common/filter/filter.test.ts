import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  DropReason,
  type Flow,
  type FlowFilter,
  IPVersion,
  TrafficDirection,
  Verdict,
} from '../../proto/gen/flow/flow.js';
import { parseHubbleJson } from '../../proto/src/hubble-json.ts';
import { describeWithFixtures, hubbleFixtureFiles } from '../testing/fixtures.ts';
import { compileFlowFilter, compileFlowFilters, FlowFilterError, flowFilter } from './index.ts';

// Expectations below read the raw JSON text of each fixture line (J), never our decoded Flow, so the
// matcher is checked against an independent reading of the same data.
type J = any;

interface Row {
  json: J;
  flow: Flow;
}

function loadRows(): Row[] {
  const rows: Row[] = [];
  for (const file of hubbleFixtureFiles()) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      const ev = parseHubbleJson(line);
      if (ev.flow) rows.push({ json: JSON.parse(line).flow, flow: ev.flow });
    }
  }
  return rows;
}

function v4InCidr(ip: string | undefined, cidr: string): boolean {
  if (!ip || ip.includes(':')) return false;
  const [base, len] = cidr.split('/') as [string, string];
  const toInt = (s: string) => s.split('.').reduce((a, b) => a * 256 + Number(b), 0);
  const bits = Number(len);
  const div = 2 ** (32 - bits);
  return Math.floor(toInt(ip) / div) === Math.floor(toInt(base) / div);
}

const labels = (j: J, side: 'source' | 'destination'): string[] => j[side]?.labels ?? [];
const l4ports = (j: J) => j.l4?.TCP ?? j.l4?.UDP ?? j.l4?.SCTP;

interface Case {
  description: string;
  filter: Partial<FlowFilter>;
  expected: (j: J) => boolean;
}

const cases: Case[] = [
  {
    description: 'source_ip exact',
    filter: { source_ip: ['10.156.2.3'] },
    expected: (j) => j.IP?.source === '10.156.2.3',
  },
  {
    description: 'source_ip CIDR',
    filter: { source_ip: ['10.244.0.0/24'] },
    expected: (j) => v4InCidr(j.IP?.source, '10.244.0.0/24'),
  },
  {
    description: 'destination_ip CIDR or address (OR)',
    filter: { destination_ip: ['10.156.2.0/30', '10.244.1.227'] },
    expected: (j) => v4InCidr(j.IP?.destination, '10.156.2.0/30') || j.IP?.destination === '10.244.1.227',
  },
  {
    description: 'ip_version IPv4',
    filter: { ip_version: [IPVersion.IPv4] },
    expected: (j) => j.IP?.ipVersion === 'IPv4',
  },
  {
    description: 'ip_version IPv6',
    filter: { ip_version: [IPVersion.IPv6] },
    expected: (j) => j.IP?.ipVersion === 'IPv6',
  },
  {
    description: 'source_pod namespace only',
    filter: { source_pod: ['kube-system/'] },
    expected: (j) => j.source?.namespace === 'kube-system',
  },
  {
    description: 'source_pod namespace/prefix',
    filter: { source_pod: ['bookinfo/ratings'] },
    expected: (j) => j.source?.namespace === 'bookinfo' && (j.source?.pod_name ?? '').startsWith('ratings'),
  },
  {
    description: 'destination_pod bare name means default namespace',
    filter: { destination_pod: ['deathstar'] },
    expected: (j) =>
      j.destination?.namespace === 'default' && (j.destination?.pod_name ?? '').startsWith('deathstar'),
  },
  {
    description: 'source_label key=value with source',
    filter: { source_label: ['k8s:app=ratings'] },
    expected: (j) => labels(j, 'source').includes('k8s:app=ratings'),
  },
  {
    description: 'source_label without source matches any source',
    filter: { source_label: ['app=ratings'] },
    expected: (j) => labels(j, 'source').some((l) => l.endsWith(':app=ratings')),
  },
  {
    description: 'destination_label existence of a reserved label',
    filter: { destination_label: ['reserved:world'] },
    expected: (j) => labels(j, 'destination').includes('reserved:world'),
  },
  {
    description: 'destination_label several selectors (OR)',
    filter: { destination_label: ['k8s:app=reviews', 'reserved:host'] },
    expected: (j) =>
      labels(j, 'destination').includes('k8s:app=reviews') ||
      labels(j, 'destination').includes('reserved:host'),
  },
  {
    description: 'source_label set-based in (…) AND key exists',
    filter: { source_label: ['k8s:app in (ratings, reviews),k8s:io.kubernetes.pod.namespace'] },
    expected: (j) =>
      (labels(j, 'source').includes('k8s:app=ratings') || labels(j, 'source').includes('k8s:app=reviews')) &&
      labels(j, 'source').some((l) => l.startsWith('k8s:io.kubernetes.pod.namespace=')),
  },
  {
    description: 'source_label !key',
    filter: { source_label: ['!k8s:app'] },
    expected: (j) => !labels(j, 'source').some((l) => l.startsWith('k8s:app=')),
  },
  {
    description: 'source_label notin',
    filter: { source_label: ['k8s:app notin (productpage)'] },
    expected: (j) => !labels(j, 'source').includes('k8s:app=productpage'),
  },
  {
    description: 'verdict DROPPED',
    filter: { verdict: [Verdict.DROPPED] },
    expected: (j) => j.verdict === 'DROPPED',
  },
  {
    description: 'verdict REDIRECTED or FORWARDED',
    filter: { verdict: [Verdict.REDIRECTED, Verdict.FORWARDED] },
    expected: (j) => j.verdict === 'REDIRECTED' || j.verdict === 'FORWARDED',
  },
  {
    description: 'drop_reason_desc POLICY_DENIED',
    filter: { drop_reason_desc: [DropReason.POLICY_DENIED] },
    expected: (j) => j.drop_reason_desc === 'POLICY_DENIED',
  },
  {
    description: 'event_type L7 (129)',
    filter: { event_type: [{ type: 129, match_sub_type: false, sub_type: 0 }] },
    expected: (j) => j.event_type?.type === 129,
  },
  {
    description: 'event_type trace to-endpoint (4/0)',
    filter: { event_type: [{ type: 4, match_sub_type: true, sub_type: 0 }] },
    expected: (j) => j.event_type?.type === 4 && (j.event_type?.sub_type ?? 0) === 0,
  },
  {
    description: 'http_status_code 5+',
    filter: { http_status_code: ['5+'] },
    expected: (j) => String(j.l7?.http?.code ?? '').startsWith('5'),
  },
  {
    description: 'http_status_code 200',
    filter: { http_status_code: ['200'] },
    expected: (j) => j.l7?.http?.code === 200,
  },
  {
    description: 'http_status_code 50+',
    filter: { http_status_code: ['50+'] },
    expected: (j) => String(j.l7?.http?.code ?? '').startsWith('50'),
  },
  {
    description: 'http_method case-insensitive',
    filter: { http_method: ['get'] },
    expected: (j) => j.l7?.http?.method === 'GET',
  },
  {
    description: 'http_path regex on the URL path',
    filter: { http_path: ['^/metrics$'] },
    expected: (j) => (j.l7?.http?.url ? new URL(j.l7.http.url).pathname === '/metrics' : false),
  },
  { description: 'protocol tcp', filter: { protocol: ['tcp'] }, expected: (j) => j.l4?.TCP !== undefined },
  {
    description: 'protocol UDP (case)',
    filter: { protocol: ['UDP'] },
    expected: (j) => j.l4?.UDP !== undefined,
  },
  {
    description: 'protocol icmp',
    filter: { protocol: ['icmp'] },
    expected: (j) => j.l4?.ICMPv4 !== undefined || j.l4?.ICMPv6 !== undefined,
  },
  {
    description: 'protocol dns or http',
    filter: { protocol: ['dns', 'http'] },
    expected: (j) => j.l7?.dns !== undefined || j.l7?.http !== undefined,
  },
  {
    description: 'source_port 53',
    filter: { source_port: ['53'] },
    expected: (j) => l4ports(j)?.source_port === 53,
  },
  {
    description: 'destination_port 80 or 9080',
    filter: { destination_port: ['80', '9080'] },
    expected: (j) => [80, 9080].includes(l4ports(j)?.destination_port),
  },
  { description: 'reply true', filter: { reply: [true] }, expected: (j) => j.is_reply === true },
  {
    description: 'reply false (unknown counts as false only for drops)',
    filter: { reply: [false] },
    expected: (j) => j.is_reply === false || (j.is_reply === undefined && j.verdict === 'DROPPED'),
  },
  {
    description: 'dns_query regex',
    filter: { dns_query: ['svc\\.cluster\\.local\\.$'] },
    expected: (j) => /svc\.cluster\.local\.$/.test(j.l7?.dns?.query ?? ''),
  },
  {
    description: 'dns_query (?i)',
    filter: { dns_query: ['(?i)ISTIOD'] },
    expected: (j) => /istiod/i.test(j.l7?.dns?.query ?? ''),
  },
  {
    description: 'source_identity',
    filter: { source_identity: [1] },
    expected: (j) => j.source?.identity === 1,
  },
  {
    description: 'destination_identity',
    filter: { destination_identity: [4, 2] },
    expected: (j) => [4, 2].includes(j.destination?.identity),
  },
  {
    description: 'traffic_direction INGRESS',
    filter: { traffic_direction: [TrafficDirection.INGRESS] },
    expected: (j) => j.traffic_direction === 'INGRESS',
  },
  {
    description: 'node_name exact',
    filter: { node_name: ['kind-control-plane'] },
    expected: (j) => j.node_name === 'kind-control-plane',
  },
  {
    description: 'node_name glob',
    filter: { node_name: ['gke-*-hr0z'] },
    expected: (j) => /^gke-.*-hr0z$/.test(j.node_name ?? ''),
  },
  {
    description: 'node_name with cluster',
    filter: { node_name: ['kind-kind/kind-*'] },
    expected: (j) => (j.node_name ?? '').startsWith('kind-kind/kind-'),
  },
  {
    description: 'node_name default cluster',
    filter: { node_name: ['default/kind-*'] },
    expected: (j) => /^kind-[^/]*$/.test(j.node_name ?? ''),
  },
  {
    description: 'tcp_flags SYN',
    filter: { tcp_flags: [{ SYN: true } as never] },
    expected: (j) => j.l4?.TCP?.flags?.SYN === true,
  },
  {
    description: 'tcp_flags SYN+ACK or FIN',
    filter: { tcp_flags: [{ SYN: true, ACK: true } as never, { FIN: true } as never] },
    expected: (j) => (j.l4?.TCP?.flags?.SYN && j.l4?.TCP?.flags?.ACK) || j.l4?.TCP?.flags?.FIN === true,
  },
  {
    description: 'interface by name',
    filter: { interface: [{ index: 0, name: 'lxc_health' }] },
    expected: (j) => j.interface?.name === 'lxc_health',
  },
  {
    description: 'AND across fields: FORWARDED UDP to kube-dns',
    filter: { verdict: [Verdict.FORWARDED], protocol: ['udp'], destination_label: ['k8s:k8s-app=kube-dns'] },
    expected: (j) =>
      j.verdict === 'FORWARDED' &&
      j.l4?.UDP !== undefined &&
      labels(j, 'destination').includes('k8s:k8s-app=kube-dns'),
  },
  { description: 'empty filter matches everything', filter: {}, expected: () => true },
];

describeWithFixtures('collector > filter (fixtures)', () => {
  const rows = loadRows();

  it('reads the fixture flows', () => {
    expect(rows.length).toBe(1918);
  });

  it.each(cases)('$description', ({ filter, expected }) => {
    const match = compileFlowFilter(flowFilter(filter));
    let hits = 0;
    for (const r of rows) {
      const want = Boolean(expected(r.json));
      if (match(r.flow) !== want)
        expect({ line: r.json, matched: match(r.flow) }).toEqual({ line: r.json, matched: want });
      if (want) hits++;
    }
    if (Object.keys(filter).length > 0) expect(hits).toBeLessThan(rows.length);
  });

  it('whitelist is OR, blacklist is NOT, together AND', () => {
    const pass = compileFlowFilters(
      [flowFilter({ protocol: ['udp'] }), flowFilter({ verdict: [Verdict.DROPPED] })],
      [flowFilter({ source_label: ['reserved:host'] }), flowFilter({ destination_port: ['53'] })],
    );
    for (const r of rows) {
      const j = r.json;
      const want =
        (j.l4?.UDP !== undefined || j.verdict === 'DROPPED') &&
        !labels(j, 'source').includes('reserved:host') &&
        l4ports(j)?.destination_port !== 53;
      expect(pass(r.flow)).toBe(want);
    }
  });
});

describe('collector > filter', () => {
  const base: Flow = parseHubbleJson(
    JSON.stringify({
      flow: {
        uuid: 'u-1',
        verdict: 'FORWARDED',
        IP: { source: '2001:db8::1', source_xlated: '192.0.2.7', destination: '10.0.0.1', ipVersion: 'IPv6' },
        l4: { TCP: { source_port: 40000, destination_port: 443, flags: { SYN: true } } },
        source: {
          cluster_name: 'c1',
          workloads: [{ name: 'api', kind: 'Deployment' }],
          labels: ['netreap:nomad.job_id=api', 'nomad:tenant=acme'],
        },
        destination: { labels: ['reserved:world'] },
        destination_names: ['api.github.com'],
        node_name: 'prod/nomad-1',
        node_labels: ['zone=eu-1a'],
        l7: {
          type: 'REQUEST',
          http: { method: 'POST', url: 'https://x.example/v1/a?b=1', headers: [{ key: 'X-A', value: '1' }] },
        },
        trace_context: { parent: { trace_id: 't-9' } },
      },
    }),
  ).flow!;

  it.each([
    { description: 'uuid', filter: { uuid: ['u-1'] }, want: true },
    { description: 'IPv6 CIDR', filter: { source_ip: ['2001:db8::/32'] }, want: true },
    { description: 'IPv6 non-canonical address', filter: { source_ip: ['2001:0db8:0:0::1'] }, want: true },
    { description: 'source_ip_xlated', filter: { source_ip_xlated: ['192.0.2.0/24'] }, want: true },
    {
      description: 'netreap label selector',
      filter: { source_label: ['netreap:nomad.job_id=api,nomad:tenant=acme'] },
      want: true,
    },
    {
      description: 'netreap label wrong tenant',
      filter: { source_label: ['nomad:tenant=globex'] },
      want: false,
    },
    { description: 'destination_fqdn glob', filter: { destination_fqdn: ['*.github.com'] }, want: true },
    { description: 'destination_fqdn no match', filter: { destination_fqdn: ['github.com'] }, want: false },
    { description: 'source_workload', filter: { source_workload: [{ name: 'api', kind: '' }] }, want: true },
    { description: 'source_cluster_name', filter: { source_cluster_name: ['c1'] }, want: true },
    { description: 'node_name cluster glob', filter: { node_name: ['prod/nomad-*'] }, want: true },
    // Hubble v1.19 (golden answers): a pattern without `cluster/` matches the node in every cluster.
    { description: 'node_name without cluster', filter: { node_name: ['nomad-1'] }, want: true },
    { description: 'node_name other cluster', filter: { node_name: ['dev/nomad-*'] }, want: false },
    { description: 'node_labels selector', filter: { node_labels: ['zone in (eu-1a, eu-1b)'] }, want: true },
    { description: 'http_url regex', filter: { http_url: ['^https://x\\.example/'] }, want: true },
    { description: 'http_header', filter: { http_header: [{ key: 'X-A', value: '1' }] }, want: true },
    { description: 'trace_id', filter: { trace_id: ['t-9'] }, want: true },
    { description: 'encrypted false', filter: { encrypted: [false] }, want: true },
    {
      description: 'unknown is_reply never matches a forwarded flow',
      filter: { reply: [false] },
      want: false,
    },
  ])('$description', ({ filter, want }) => {
    expect(compileFlowFilter(flowFilter(filter as Partial<FlowFilter>))(base)).toBe(want);
  });

  it.each([
    { field: 'source_ip', filter: { source_ip: ['10.0.0.300'] } },
    { field: 'destination_ip', filter: { destination_ip: ['10.0.0.0/33'] } },
    { field: 'source_port', filter: { source_port: ['http'] } },
    { field: 'http_status_code', filter: { http_status_code: ['6+'] } },
    { field: 'protocol', filter: { protocol: ['quic'] } },
    { field: 'dns_query', filter: { dns_query: ['(unclosed'] } },
    // RE2 syntax: no backreferences, no lookarounds; and a bound on length.
    { field: 'http_path', filter: { http_path: ['(a)\\1'] } },
    { field: 'dns_query', filter: { dns_query: ['(?=x)y'] } },
    { field: 'http_url', filter: { http_url: ['a'.repeat(1100)] } },
    { field: 'source_label', filter: { source_label: ['k8s:app=a b'] } },
    { field: 'source_pod', filter: { source_pod: [''] } },
    { field: 'node_name', filter: { node_name: ['a/b/c'] } },
    { field: 'source_fqdn', filter: { source_fqdn: ['a b'] } },
    { field: 'experimental.cel_expression', filter: { experimental: { cel_expression: ['true'] } } },
  ])('rejects a bad $field with FlowFilterError', ({ field, filter }) => {
    let error: unknown;
    try {
      compileFlowFilter(flowFilter(filter as Partial<FlowFilter>));
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(FlowFilterError);
    expect((error as FlowFilterError).field).toBe(field);
  });

  it('runs RE2 syntax in linear time: (?i) works, nested quantifiers are harmless', () => {
    const dns = (query: string) =>
      ({ ...base, l7: { type: 1, latency_ns: 0n, dns: { query } } }) as unknown as Flow;
    const ci = compileFlowFilter(flowFilter({ dns_query: ['(?i)^API\\.'] }));
    expect(ci(dns('api.example.com.'))).toBe(true);
    expect(ci(dns('www.example.com.'))).toBe(false);
    const evil = compileFlowFilter(flowFilter({ dns_query: ['((.+))+X', '^(a+)+$', '(x|xx)*y'] }));
    const started = performance.now();
    expect(evil(dns(`${'a'.repeat(5000)}!`))).toBe(false);
    expect(performance.now() - started).toBeLessThan(2000);
  });
});

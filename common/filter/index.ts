/**
 * @module In-memory FlowFilter matching with Hubble's semantics (cilium pkg/hubble/filters), shared by the
 * traffic generator's Observer server and the query API's follow mode.
 *
 * A flow passes `compileFlowFilters(whitelist, blacklist)` when the whitelist is empty or ANY whitelist
 * filter matches, and NO blacklist filter matches. Inside one FlowFilter every set field must match
 * (AND); inside one repeated field any value may match (OR). Filters are compiled once (CIDRs, regexes,
 * selectors), so per-flow matching does no parsing. A set field the matcher does not support (only
 * `experimental.cel_expression` today) throws FlowFilterError, never silently matches everything.
 *
 * Supported fields (see SUPPORTED_FLOW_FILTER_FIELDS): uuid, source_ip/destination_ip/source_ip_xlated
 * (address or CIDR), ip_version, encrypted, source_pod/destination_pod and source_service/
 * destination_service (`[ns/][prefix]`), source_label/destination_label (label selectors, `source:`
 * prefixes), node_labels (selectors), source_fqdn/destination_fqdn (globs), source_workload/
 * destination_workload, source_cluster_name/destination_cluster_name, source_identity/
 * destination_identity, verdict, drop_reason_desc, traffic_direction, event_type (type, optional
 * sub_type), protocol (tcp udp sctp icmp icmpv4 icmpv6 vrrp igmp dns http kafka), source_port/
 * destination_port, tcp_flags (all set flags present), reply (is_reply; unknown counts as false for
 * drops), dns_query (regex), http_status_code (`404`, `5+`, `40+`), http_method, http_path (regex on the
 * URL path), http_url (regex), http_header (exact key and value), node_name (`[cluster/]node` globs),
 * interface (index and/or name), trace_id, ip_trace_id.
 */
import type { Endpoint, Flow, FlowFilter, Layer4 } from '../../proto/gen/flow/flow.js';
import { FlowFilterError } from './errors.ts';
import { compileIpMatcher } from './ip.ts';
import { compileLabelSelector } from './labels.ts';
import {
  compileFqdnPatterns,
  compileHttpStatus,
  compileNamespacedNames,
  compileNodeNamePatterns,
  compileRegex,
} from './patterns.ts';

export { FlowFilterError } from './errors.ts';

/** A compiled filter: true when the flow passes. */
export type FlowPredicate = (flow: Flow) => boolean;

type Check = (flow: Flow) => boolean;

/** Every FlowFilter field the matcher understands. */
export const SUPPORTED_FLOW_FILTER_FIELDS = [
  'uuid',
  'source_ip',
  'source_ip_xlated',
  'source_pod',
  'source_fqdn',
  'source_label',
  'source_service',
  'source_workload',
  'source_cluster_name',
  'destination_ip',
  'destination_pod',
  'destination_fqdn',
  'destination_label',
  'destination_service',
  'destination_workload',
  'destination_cluster_name',
  'traffic_direction',
  'verdict',
  'drop_reason_desc',
  'interface',
  'event_type',
  'http_status_code',
  'protocol',
  'source_port',
  'destination_port',
  'reply',
  'dns_query',
  'source_identity',
  'destination_identity',
  'http_method',
  'http_path',
  'http_url',
  'http_header',
  'tcp_flags',
  'node_name',
  'node_labels',
  'ip_version',
  'trace_id',
  'ip_trace_id',
  'encrypted',
] as const satisfies readonly (keyof FlowFilter)[];

const SUPPORTED = new Set<string>(SUPPORTED_FLOW_FILTER_FIELDS);

const L4_PROTOCOLS = ['icmp', 'icmpv4', 'icmpv6', 'tcp', 'udp', 'sctp', 'vrrp', 'igmp'] as const;
const L7_PROTOCOLS = ['dns', 'http', 'kafka'] as const;

function ports(l4: Layer4 | undefined): { src: number; dst: number } | undefined {
  const p = l4?.TCP ?? l4?.UDP ?? l4?.SCTP;
  return p ? { src: p.source_port, dst: p.destination_port } : undefined;
}

function parsePorts(field: string, values: readonly string[]): Set<number> {
  const out = new Set<number>();
  for (const v of values) {
    if (!/^\d{1,5}$/.test(v) || Number(v) > 65535) throw new FlowFilterError(field, `invalid port "${v}"`);
    out.add(Number(v));
  }
  return out;
}

function protocolCheck(values: readonly string[]): Check {
  const l4 = new Set<string>();
  const l7 = new Set<string>();
  for (const v of values) {
    const p = v.toLowerCase();
    if ((L4_PROTOCOLS as readonly string[]).includes(p)) l4.add(p);
    else if ((L7_PROTOCOLS as readonly string[]).includes(p)) l7.add(p);
    else throw new FlowFilterError('protocol', `unknown protocol "${v}"`);
  }
  return (f) => {
    const x = f.l4;
    if (x) {
      if (
        (l4.has('icmp') && (x.ICMPv4 || x.ICMPv6)) ||
        (l4.has('icmpv4') && x.ICMPv4) ||
        (l4.has('icmpv6') && x.ICMPv6)
      )
        return true;
      if ((l4.has('tcp') && x.TCP) || (l4.has('udp') && x.UDP) || (l4.has('sctp') && x.SCTP)) return true;
      if ((l4.has('vrrp') && x.VRRP) || (l4.has('igmp') && x.IGMP)) return true;
    }
    const y = f.l7;
    if (y) {
      if ((l7.has('dns') && y.dns) || (l7.has('http') && y.http) || (l7.has('kafka') && y.kafka)) return true;
    }
    return false;
  };
}

function urlPath(url: string): string | undefined {
  try {
    return new URL(url).pathname;
  } catch {
    return url.startsWith('/') ? (url.split('?')[0] ?? url) : undefined;
  }
}

type Side = 'source' | 'destination';

function endpointOf(f: Flow, side: Side): Endpoint | undefined {
  return side === 'source' ? f.source : f.destination;
}

/** Adds the checks of one side (source_* or destination_*). */
function sideChecks(filter: FlowFilter, side: Side, checks: Check[]): void {
  const ipValues = side === 'source' ? filter.source_ip : filter.destination_ip;
  if (ipValues.length) {
    const m = compileIpMatcher(`${side}_ip`, ipValues);
    checks.push(side === 'source' ? (f) => m(f.IP?.source ?? '') : (f) => m(f.IP?.destination ?? ''));
  }
  const pods = side === 'source' ? filter.source_pod : filter.destination_pod;
  if (pods.length) {
    const m = compileNamespacedNames(`${side}_pod`, pods);
    checks.push((f) => {
      const ep = endpointOf(f, side);
      return m(ep?.namespace ?? '', ep?.pod_name ?? '');
    });
  }
  const services = side === 'source' ? filter.source_service : filter.destination_service;
  if (services.length) {
    const m = compileNamespacedNames(`${side}_service`, services);
    checks.push((f) => {
      const svc = side === 'source' ? f.source_service : f.destination_service;
      return m(svc?.namespace ?? '', svc?.name ?? '');
    });
  }
  const fqdns = side === 'source' ? filter.source_fqdn : filter.destination_fqdn;
  if (fqdns.length) {
    const re = compileFqdnPatterns(`${side}_fqdn`, fqdns);
    checks.push((f) => (side === 'source' ? f.source_names : f.destination_names).some((n) => re.test(n)));
  }
  const labels = side === 'source' ? filter.source_label : filter.destination_label;
  if (labels.length) {
    const ms = labels.map((l) => compileLabelSelector(`${side}_label`, l));
    checks.push((f) => {
      const ls = endpointOf(f, side)?.labels ?? [];
      return ms.some((m) => m(ls));
    });
  }
  const workloads = side === 'source' ? filter.source_workload : filter.destination_workload;
  if (workloads.length) {
    checks.push((f) =>
      (endpointOf(f, side)?.workloads ?? []).some((w) =>
        workloads.some((x) => (x.name === '' || x.name === w.name) && (x.kind === '' || x.kind === w.kind)),
      ),
    );
  }
  const clusters = side === 'source' ? filter.source_cluster_name : filter.destination_cluster_name;
  if (clusters.length) {
    const set = new Set(clusters);
    checks.push((f) => set.has(endpointOf(f, side)?.cluster_name ?? ''));
  }
  const identities = side === 'source' ? filter.source_identity : filter.destination_identity;
  if (identities.length) {
    const set = new Set(identities);
    checks.push((f) => set.has(endpointOf(f, side)?.identity ?? 0));
  }
  const portValues = side === 'source' ? filter.source_port : filter.destination_port;
  if (portValues.length) {
    const set = parsePorts(`${side}_port`, portValues);
    checks.push((f) => {
      const p = ports(f.l4);
      return p !== undefined && set.has(side === 'source' ? p.src : p.dst);
    });
  }
}

/** A complete FlowFilter from the fields you set (ts-proto types require every repeated field). */
export function flowFilter(partial: Partial<FlowFilter> = {}): FlowFilter {
  return {
    uuid: [],
    source_ip: [],
    source_ip_xlated: [],
    source_pod: [],
    source_fqdn: [],
    source_label: [],
    source_service: [],
    source_workload: [],
    source_cluster_name: [],
    destination_ip: [],
    destination_pod: [],
    destination_fqdn: [],
    destination_label: [],
    destination_service: [],
    destination_workload: [],
    destination_cluster_name: [],
    traffic_direction: [],
    verdict: [],
    drop_reason_desc: [],
    interface: [],
    event_type: [],
    http_status_code: [],
    protocol: [],
    source_port: [],
    destination_port: [],
    reply: [],
    dns_query: [],
    source_identity: [],
    destination_identity: [],
    http_method: [],
    http_path: [],
    http_url: [],
    http_header: [],
    tcp_flags: [],
    node_name: [],
    node_labels: [],
    ip_version: [],
    trace_id: [],
    ip_trace_id: [],
    encrypted: [],
    ...partial,
  };
}

function isSet(value: unknown): boolean {
  if (value === undefined || value === null) return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object') return Object.values(value).some(isSet);
  return value !== '' && value !== 0 && value !== false && value !== 0n;
}

/** Compiles one FlowFilter into a predicate that is true when every set field matches. */
export function compileFlowFilter(filter: FlowFilter): FlowPredicate {
  for (const [key, value] of Object.entries(filter)) {
    if (SUPPORTED.has(key) || !isSet(value)) continue;
    const what = key === 'experimental' ? 'experimental.cel_expression' : key;
    throw new FlowFilterError(what, 'this field is not supported by this server');
  }
  const checks: Check[] = [];
  if (filter.uuid.length) {
    const set = new Set(filter.uuid);
    checks.push((f) => set.has(f.uuid));
  }
  sideChecks(filter, 'source', checks);
  sideChecks(filter, 'destination', checks);
  if (filter.source_ip_xlated.length) {
    const m = compileIpMatcher('source_ip_xlated', filter.source_ip_xlated);
    checks.push((f) => m(f.IP?.source_xlated ?? ''));
  }
  if (filter.ip_version.length) {
    const set = new Set<number>(filter.ip_version);
    checks.push((f) => f.IP !== undefined && set.has(f.IP.ipVersion));
  }
  if (filter.encrypted.length) {
    const set = new Set(filter.encrypted);
    checks.push((f) => f.IP !== undefined && set.has(f.IP.encrypted));
  }
  if (filter.verdict.length) {
    const set = new Set<number>(filter.verdict);
    checks.push((f) => set.has(f.verdict));
  }
  if (filter.drop_reason_desc.length) {
    const set = new Set<number>(filter.drop_reason_desc);
    checks.push((f) => set.has(f.drop_reason_desc));
  }
  if (filter.traffic_direction.length) {
    const set = new Set<number>(filter.traffic_direction);
    checks.push((f) => set.has(f.traffic_direction));
  }
  if (filter.event_type.length) {
    const types = filter.event_type;
    checks.push((f) => {
      const e = f.event_type;
      if (!e) return false;
      return types.some(
        (t) => (t.type === 0 || t.type === e.type) && (!t.match_sub_type || t.sub_type === e.sub_type),
      );
    });
  }
  if (filter.protocol.length) checks.push(protocolCheck(filter.protocol));
  if (filter.reply.length) {
    const wanted = filter.reply;
    checks.push((f) => {
      // Hubble: unknown is_reply never matches, except on drops, where it counts as false.
      if (f.is_reply === undefined && f.verdict !== 2) return false;
      const value = f.is_reply ?? false;
      return wanted.includes(value);
    });
  }
  if (filter.tcp_flags.length) {
    const sets = filter.tcp_flags;
    const names = ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG', 'ECE', 'CWR', 'NS'] as const;
    checks.push((f) => {
      const fl = f.l4?.TCP?.flags;
      if (!fl) return false;
      return sets.some((want) => names.every((n) => !want[n] || fl[n]));
    });
  }
  if (filter.dns_query.length) {
    const res = filter.dns_query.map((q) => compileRegex('dns_query', q));
    checks.push((f) => {
      const dns = f.l7?.dns;
      return dns !== undefined && res.some((re) => re.test(dns.query));
    });
  }
  if (filter.http_status_code.length) {
    const m = compileHttpStatus('http_status_code', filter.http_status_code);
    checks.push((f) => {
      const http = f.l7?.http;
      return http !== undefined && m(http.code);
    });
  }
  if (filter.http_method.length) {
    const methods = filter.http_method.map((m) => m.toUpperCase());
    checks.push((f) => {
      const m = f.l7?.http?.method;
      return m !== undefined && m !== '' && methods.includes(m.toUpperCase());
    });
  }
  if (filter.http_path.length) {
    const res = filter.http_path.map((p) => compileRegex('http_path', p));
    checks.push((f) => {
      const url = f.l7?.http?.url;
      if (!url) return false;
      const path = urlPath(url);
      return path !== undefined && res.some((re) => re.test(path));
    });
  }
  if (filter.http_url.length) {
    const res = filter.http_url.map((p) => compileRegex('http_url', p));
    checks.push((f) => {
      const url = f.l7?.http?.url;
      return url !== undefined && url !== '' && res.some((re) => re.test(url));
    });
  }
  if (filter.http_header.length) {
    const wanted = filter.http_header;
    checks.push((f) => {
      const headers = f.l7?.http?.headers;
      if (!headers?.length) return false;
      return wanted.some((w) => headers.some((h) => h.key === w.key && h.value === w.value));
    });
  }
  if (filter.node_name.length) {
    const m = compileNodeNamePatterns('node_name', filter.node_name);
    checks.push((f) => m(f.node_name));
  }
  if (filter.node_labels.length) {
    const ms = filter.node_labels.map((s) => compileLabelSelector('node_labels', s, false));
    checks.push((f) => ms.some((m) => m(f.node_labels)));
  }
  if (filter.interface.length) {
    const wanted = filter.interface;
    checks.push((f) => {
      const i = f.interface;
      if (!i) return false;
      return wanted.some(
        (w) => (w.index === 0 || w.index === i.index) && (w.name === '' || w.name === i.name),
      );
    });
  }
  if (filter.trace_id.length) {
    const set = new Set(filter.trace_id);
    checks.push((f) => set.has(f.trace_context?.parent?.trace_id ?? ''));
  }
  if (filter.ip_trace_id.length) {
    const set = new Set(filter.ip_trace_id.map(String));
    checks.push((f) => f.ip_trace_id !== undefined && set.has(String(f.ip_trace_id.trace_id)));
  }
  if (checks.length === 0) return () => true;
  if (checks.length === 1) return checks[0]!;
  return (f) => {
    for (const c of checks) if (!c(f)) return false;
    return true;
  };
}

/**
 * Compiles a GetFlowsRequest's whitelist and blacklist once: a flow passes when the whitelist is empty or
 * any whitelist filter matches, and no blacklist filter matches. Throws FlowFilterError on bad input.
 */
export function compileFlowFilters(
  whitelist: readonly FlowFilter[],
  blacklist: readonly FlowFilter[],
): FlowPredicate {
  const allow = whitelist.map(compileFlowFilter);
  const deny = blacklist.map(compileFlowFilter);
  if (allow.length === 0 && deny.length === 0) return () => true;
  return (f) => {
    if (allow.length > 0) {
      let ok = false;
      for (const a of allow) {
        if (a(f)) {
          ok = true;
          break;
        }
      }
      if (!ok) return false;
    }
    for (const d of deny) if (d(f)) return false;
    return true;
  };
}

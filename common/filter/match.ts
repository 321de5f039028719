/**
 * @module The in-memory predicate of a parsed FlowFilter, with Hubble's semantics (cilium
 * pkg/hubble/filters): used where flows are in hand rather than in ClickHouse (the demo's Observer
 * server). Regexes run through re2js, in linear time.
 */
import type { Endpoint, Flow, Layer4 } from '../../proto/gen/flow/flow.js';
import { ipMatcher } from './ip.ts';
import { labelsSatisfy } from './labels.ts';
import type { ParsedFlowFilter, ParsedSide } from './parse.ts';
import { httpStatusMatches, namespacedNameMatches, qualifiedNodeName } from './patterns.ts';
import { TCP_FLAG_BITS } from './vocabulary.ts';

/** A compiled filter: true when the flow passes. */
export type FlowPredicate = (flow: Flow) => boolean;

type Check = (flow: Flow) => boolean;
type Side = 'source' | 'destination';

function ports(l4: Layer4 | undefined): { src: number; dst: number } | undefined {
  const p = l4?.TCP ?? l4?.UDP ?? l4?.SCTP;
  return p ? { src: p.source_port, dst: p.destination_port } : undefined;
}

const endpointOf = (f: Flow, side: Side): Endpoint | undefined =>
  side === 'source' ? f.source : f.destination;

function sideChecks(s: ParsedSide, side: Side, checks: Check[]): void {
  if (s.ip) {
    const m = ipMatcher(s.ip);
    checks.push(side === 'source' ? (f) => m(f.IP?.source ?? '') : (f) => m(f.IP?.destination ?? ''));
  }
  if (s.pod) {
    const pods = s.pod;
    checks.push((f) => {
      const ep = endpointOf(f, side);
      return namespacedNameMatches(pods, ep?.namespace ?? '', ep?.pod_name ?? '');
    });
  }
  if (s.service) {
    const svcs = s.service;
    checks.push((f) => {
      const svc = side === 'source' ? f.source_service : f.destination_service;
      return namespacedNameMatches(svcs, svc?.namespace ?? '', svc?.name ?? '');
    });
  }
  if (s.fqdn) {
    const re = s.fqdn;
    checks.push((f) => (side === 'source' ? f.source_names : f.destination_names).some((n) => re.test(n)));
  }
  if (s.label) {
    const sels = s.label;
    checks.push((f) => {
      const ls = endpointOf(f, side)?.labels ?? [];
      return sels.some((r) => labelsSatisfy(r, ls));
    });
  }
  if (s.workload) {
    const wanted = s.workload;
    checks.push((f) =>
      (endpointOf(f, side)?.workloads ?? []).some((w) =>
        wanted.some((x) => (x.name === '' || x.name === w.name) && (x.kind === '' || x.kind === w.kind)),
      ),
    );
  }
  if (s.cluster) {
    const set = new Set(s.cluster);
    checks.push((f) => set.has(endpointOf(f, side)?.cluster_name ?? ''));
  }
  if (s.identity) {
    const set = new Set(s.identity);
    checks.push((f) => set.has(endpointOf(f, side)?.identity ?? 0));
  }
  if (s.port) {
    const set = new Set(s.port);
    checks.push((f) => {
      const p = ports(f.l4);
      return p !== undefined && set.has(side === 'source' ? p.src : p.dst);
    });
  }
}

function urlPath(url: string): string | undefined {
  try {
    return new URL(url).pathname;
  } catch {
    return url.startsWith('/') ? (url.split('?')[0] ?? url) : undefined;
  }
}

function flagBits(f: Flow): number {
  const fl = f.l4?.TCP?.flags;
  if (!fl) return -1;
  let bits = 0;
  for (const [n, b] of Object.entries(TCP_FLAG_BITS)) if (fl[n as keyof typeof fl]) bits |= b;
  return bits;
}

/** The predicate of one parsed FlowFilter: true when every present field matches. */
export function flowFilterPredicate(p: ParsedFlowFilter): FlowPredicate {
  const checks: Check[] = [];
  if (p.uuid) {
    const set = new Set(p.uuid);
    checks.push((f) => set.has(f.uuid));
  }
  sideChecks(p.source, 'source', checks);
  sideChecks(p.destination, 'destination', checks);
  if (p.ipXlated) {
    const m = ipMatcher(p.ipXlated);
    checks.push((f) => m(f.IP?.source_xlated ?? ''));
  }
  if (p.ipVersion) {
    const set = new Set<number>(p.ipVersion);
    checks.push((f) => f.IP !== undefined && set.has(f.IP.ipVersion));
  }
  if (p.encrypted) {
    const set = new Set(p.encrypted);
    checks.push((f) => f.IP !== undefined && set.has(f.IP.encrypted));
  }
  if (p.verdict) {
    const set = new Set<number>(p.verdict);
    checks.push((f) => set.has(f.verdict));
  }
  if (p.dropReason) {
    const set = new Set<number>(p.dropReason);
    checks.push((f) => set.has(f.drop_reason_desc));
  }
  if (p.direction) {
    const set = new Set<number>(p.direction);
    checks.push((f) => set.has(f.traffic_direction));
  }
  if (p.eventType) {
    const types = p.eventType;
    checks.push((f) => {
      const e = f.event_type;
      if (!e) return false;
      return types.some(
        (t) => (t.type === 0 || t.type === e.type) && (t.subType === undefined || t.subType === e.sub_type),
      );
    });
  }
  if (p.protocol) {
    const l4 = new Set(p.protocol.l4);
    const l7 = new Set(p.protocol.l7);
    checks.push((f) => {
      const x = f.l4;
      if (x) {
        if ((l4.has('TCP') && x.TCP) || (l4.has('UDP') && x.UDP) || (l4.has('SCTP') && x.SCTP)) return true;
        if ((l4.has('ICMPv4') && x.ICMPv4) || (l4.has('ICMPv6') && x.ICMPv6)) return true;
        if ((l4.has('VRRP') && x.VRRP) || (l4.has('IGMP') && x.IGMP)) return true;
      }
      const y = f.l7;
      return (
        !!y && ((l7.has('dns') && !!y.dns) || (l7.has('http') && !!y.http) || (l7.has('kafka') && !!y.kafka))
      );
    });
  }
  if (p.reply) {
    const wanted = p.reply;
    checks.push((f) => {
      // Hubble: unknown is_reply never matches, except on drops, where it counts as false.
      if (f.is_reply === undefined && f.verdict !== 2) return false;
      return wanted.includes(f.is_reply ?? false);
    });
  }
  if (p.tcpFlags) {
    const sets = p.tcpFlags;
    checks.push((f) => {
      const bits = flagBits(f);
      return bits >= 0 && sets.some((want) => (bits & want) === want);
    });
  }
  if (p.dnsQuery) {
    const res = p.dnsQuery;
    checks.push((f) => {
      const dns = f.l7?.dns;
      return dns !== undefined && res.some((re) => re.test(dns.query));
    });
  }
  if (p.httpStatus) {
    const st = p.httpStatus;
    checks.push((f) => {
      const http = f.l7?.http;
      return http !== undefined && httpStatusMatches(st, http.code);
    });
  }
  if (p.httpMethod) {
    const methods = p.httpMethod;
    checks.push((f) => {
      const m = f.l7?.http?.method;
      return m !== undefined && m !== '' && methods.includes(m.toUpperCase());
    });
  }
  if (p.httpPath) {
    const res = p.httpPath;
    checks.push((f) => {
      const url = f.l7?.http?.url;
      if (!url) return false;
      const path = urlPath(url);
      return path !== undefined && res.some((re) => re.test(path));
    });
  }
  if (p.httpUrl) {
    const res = p.httpUrl;
    checks.push((f) => {
      const url = f.l7?.http?.url;
      return url !== undefined && url !== '' && res.some((re) => re.test(url));
    });
  }
  if (p.httpHeader) {
    const wanted = p.httpHeader;
    checks.push((f) => {
      const headers = f.l7?.http?.headers;
      if (!headers?.length) return false;
      return wanted.some((w) => headers.some((h) => h.key === w.key && h.value === w.value));
    });
  }
  if (p.nodeName) {
    const re = p.nodeName;
    checks.push((f) => f.node_name !== '' && re.test(qualifiedNodeName(f.node_name)));
  }
  if (p.nodeLabels) {
    const sels = p.nodeLabels;
    checks.push((f) => sels.some((r) => labelsSatisfy(r, f.node_labels, false)));
  }
  if (p.iface) {
    const wanted = p.iface;
    checks.push((f) => {
      const i = f.interface;
      if (!i) return false;
      return wanted.some(
        (w) => (w.index === 0 || w.index === i.index) && (w.name === '' || w.name === i.name),
      );
    });
  }
  if (p.traceId) {
    const set = new Set(p.traceId);
    checks.push((f) => set.has(f.trace_context?.parent?.trace_id ?? ''));
  }
  if (p.ipTraceId) {
    const set = new Set(p.ipTraceId.map(String));
    checks.push((f) => f.ip_trace_id !== undefined && set.has(String(f.ip_trace_id.trace_id)));
  }
  if (checks.length === 0) return () => true;
  if (checks.length === 1) return checks[0]!;
  return (f) => {
    for (const c of checks) if (!c(f)) return false;
    return true;
  };
}

/** Whitelist/blacklist: passes when the whitelist is empty or any entry matches, and no blacklist entry does. */
export function filterSetPredicate(
  whitelist: readonly ParsedFlowFilter[],
  blacklist: readonly ParsedFlowFilter[],
): FlowPredicate {
  const allow = whitelist.map(flowFilterPredicate);
  const deny = blacklist.map(flowFilterPredicate);
  if (allow.length === 0 && deny.length === 0) return () => true;
  return (f) => {
    if (allow.length > 0 && !allow.some((a) => a(f))) return false;
    for (const d of deny) if (d(f)) return false;
    return true;
  };
}

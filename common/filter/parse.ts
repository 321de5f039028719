/**
 * @module The typed form of a Hubble FlowFilter: every value parsed once (addresses into prefixes, label
 * selectors into requirements, globs and regexes into RE2, names into numbers), so the in-memory
 * predicate (match.ts) and the ClickHouse SQL (sql.ts) are both compiled from the same parse and cannot
 * read a value differently. A bad value or an unsupported field throws FlowFilterError.
 */
import type { FlowFilter } from '../../proto/gen/flow/flow.js';
import { FlowFilterError } from './errors.ts';
import { type IpPrefix, parseIpPrefixes } from './ip.ts';
import { type LabelRequirement, parseLabelSelector } from './labels.ts';
import {
  type HttpStatusFilter,
  type NamespacedName,
  parseFqdnPatterns,
  parseHttpStatus,
  parseNamespacedNames,
  parseNodeNamePatterns,
} from './patterns.ts';
import { compileRe2, type Re2 } from './regex.ts';
import { L4_PROTOCOLS, L7_PROTOCOLS, TCP_FLAG_BITS } from './vocabulary.ts';

/** The typed filters of one end (`source_*` or `destination_*`); absent means "not filtered". */
export interface ParsedSide {
  ip?: IpPrefix[];
  pod?: NamespacedName[];
  service?: NamespacedName[];
  fqdn?: Re2;
  /** Label selectors, ORed; each a list of requirements, ANDed. */
  label?: LabelRequirement[][];
  workload?: { kind: string; name: string }[];
  cluster?: string[];
  identity?: number[];
  port?: number[];
}

/** One FlowFilter, typed. Inside it every present field must match (AND); values of a field are ORed. */
export interface ParsedFlowFilter {
  source: ParsedSide;
  destination: ParsedSide;
  uuid?: string[];
  ipXlated?: IpPrefix[];
  ipVersion?: number[];
  encrypted?: boolean[];
  verdict?: number[];
  dropReason?: number[];
  direction?: number[];
  eventType?: { type: number; subType?: number }[];
  /** Column values: `l4_protocol` enum names and `l7_protocol` names. */
  protocol?: { l4: string[]; l7: string[] };
  reply?: boolean[];
  /** Each entry: the bit set of flags that must all be present. */
  tcpFlags?: number[];
  dnsQuery?: Re2[];
  httpStatus?: HttpStatusFilter;
  httpMethod?: string[];
  httpPath?: Re2[];
  httpUrl?: Re2[];
  httpHeader?: { key: string; value: string }[];
  nodeName?: Re2;
  nodeLabels?: LabelRequirement[][];
  iface?: { index: number; name: string }[];
  traceId?: string[];
  ipTraceId?: bigint[];
}

/** Every FlowFilter field the language understands. */
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

function isSet(value: unknown): boolean {
  if (value === undefined || value === null) return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object') return Object.values(value).some(isSet);
  return value !== '' && value !== 0 && value !== false && value !== 0n;
}

function parsePorts(field: string, values: readonly string[]): number[] {
  return values.map((v) => {
    if (!/^\d{1,5}$/.test(v) || Number(v) > 65535) throw new FlowFilterError(field, `invalid port "${v}"`);
    return Number(v);
  });
}

function parseProtocols(values: readonly string[]): { l4: string[]; l7: string[] } {
  const l4 = new Set<string>();
  const l7 = new Set<string>();
  for (const v of values) {
    const p = v.toLowerCase();
    const cols = L4_PROTOCOLS[p];
    if (cols) for (const c of cols) l4.add(c);
    else if ((L7_PROTOCOLS as readonly string[]).includes(p)) l7.add(p);
    else throw new FlowFilterError('protocol', `unknown protocol "${v}"`);
  }
  return { l4: [...l4], l7: [...l7] };
}

const nonEmpty = <T>(xs: readonly T[]): T[] | undefined => (xs.length ? [...xs] : undefined);

function parseSide(f: FlowFilter, side: 'source' | 'destination'): ParsedSide {
  const out: ParsedSide = {};
  const ip = f[`${side}_ip`];
  if (ip.length) out.ip = parseIpPrefixes(`${side}_ip`, ip);
  const pod = f[`${side}_pod`];
  if (pod.length) out.pod = parseNamespacedNames(`${side}_pod`, pod);
  const svc = f[`${side}_service`];
  if (svc.length) out.service = parseNamespacedNames(`${side}_service`, svc);
  const fqdn = f[`${side}_fqdn`];
  if (fqdn.length) out.fqdn = parseFqdnPatterns(`${side}_fqdn`, fqdn);
  const label = f[`${side}_label`];
  if (label.length) out.label = label.map((l) => parseLabelSelector(`${side}_label`, l));
  const wl = f[`${side}_workload`];
  if (wl.length) out.workload = wl.map((w) => ({ kind: w.kind, name: w.name }));
  const cl = nonEmpty(f[`${side}_cluster_name`]);
  if (cl) out.cluster = cl;
  const id = nonEmpty(f[`${side}_identity`]);
  if (id) out.identity = id;
  const port = f[`${side}_port`];
  if (port.length) out.port = parsePorts(`${side}_port`, port);
  return out;
}

/** Parses one FlowFilter; throws FlowFilterError on a bad value or a field this server cannot evaluate. */
export function parseFlowFilter(filter: FlowFilter): ParsedFlowFilter {
  for (const [key, value] of Object.entries(filter)) {
    if (SUPPORTED.has(key) || !isSet(value)) continue;
    const what = key === 'experimental' ? 'experimental.cel_expression' : key;
    throw new FlowFilterError(what, 'this field is not supported by this server');
  }
  const out: ParsedFlowFilter = {
    source: parseSide(filter, 'source'),
    destination: parseSide(filter, 'destination'),
  };
  const set = <K extends keyof ParsedFlowFilter>(k: K, v: ParsedFlowFilter[K] | undefined) => {
    if (v !== undefined) out[k] = v;
  };
  set('uuid', nonEmpty(filter.uuid));
  if (filter.source_ip_xlated.length)
    out.ipXlated = parseIpPrefixes('source_ip_xlated', filter.source_ip_xlated);
  set('ipVersion', nonEmpty(filter.ip_version));
  set('encrypted', nonEmpty(filter.encrypted));
  set('verdict', nonEmpty(filter.verdict));
  set('dropReason', nonEmpty(filter.drop_reason_desc));
  set('direction', nonEmpty(filter.traffic_direction));
  if (filter.event_type.length) {
    out.eventType = filter.event_type.map((t) =>
      t.match_sub_type ? { type: t.type, subType: t.sub_type } : { type: t.type },
    );
  }
  if (filter.protocol.length) out.protocol = parseProtocols(filter.protocol);
  set('reply', nonEmpty(filter.reply));
  if (filter.tcp_flags.length) {
    out.tcpFlags = filter.tcp_flags.map((want) =>
      Object.entries(TCP_FLAG_BITS).reduce(
        (bits, [n, b]) => (want[n as keyof typeof want] ? bits | b : bits),
        0,
      ),
    );
  }
  if (filter.dns_query.length) out.dnsQuery = filter.dns_query.map((q) => compileRe2('dns_query', q));
  if (filter.http_status_code.length)
    out.httpStatus = parseHttpStatus('http_status_code', filter.http_status_code);
  if (filter.http_method.length) out.httpMethod = filter.http_method.map((m) => m.toUpperCase());
  if (filter.http_path.length) out.httpPath = filter.http_path.map((p) => compileRe2('http_path', p));
  if (filter.http_url.length) out.httpUrl = filter.http_url.map((p) => compileRe2('http_url', p));
  if (filter.http_header.length)
    out.httpHeader = filter.http_header.map((h) => ({ key: h.key, value: h.value }));
  if (filter.node_name.length) out.nodeName = parseNodeNamePatterns('node_name', filter.node_name);
  if (filter.node_labels.length)
    out.nodeLabels = filter.node_labels.map((s) => parseLabelSelector('node_labels', s, false));
  if (filter.interface.length) out.iface = filter.interface.map((i) => ({ index: i.index, name: i.name }));
  set('traceId', nonEmpty(filter.trace_id));
  if (filter.ip_trace_id.length) out.ipTraceId = filter.ip_trace_id.map((x) => BigInt(x));
  return out;
}

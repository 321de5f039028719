/**
 * Encodes an enriched flow as one RowBinary row of the `flows` table (migrations/0001_flows.sql).
 * Every forensic field gets a typed column; fields the columns give back exactly are removed from
 * the Flow before the remainder is stored in `flow_extra`, and `stored_fields` records which —
 * so the row is small on disk and common/schema/flow-restore.ts rebuilds the ingested Flow.
 * `flowStructure` lists the columns in encoding order; a test checks it against the table.
 * One hand-written function rather than a closure per column: this runs for every flow.
 * @module
 */

import {
  DropReason,
  type Endpoint,
  Flow,
  type Policy,
  SocketTranslationPoint,
  TraceObservationPoint,
  TraceReason,
} from '../../proto/gen/flow/flow.ts';
import { type EnumObject, enumName } from '../../proto/src/enums.ts';
import type { RowBinaryWriter } from '../clickhouse/row-binary.ts';
import {
  type AddressScope,
  type AttributionSource,
  addressScopes,
  attributionSources,
  type EndAttribution,
  unattributed,
} from '../flow/attribution.ts';
import type { IngestedFlow } from '../flow/model.ts';
import { formatIpBytes, parseIpBytes } from '../net/ip.ts';
import { StoredField as F } from './stored-fields.ts';

/** Enum name for a column: '' for 0 (protojson omits it), digits for numbers a newer Cilium added. */
const enumNames =
  (e: EnumObject) =>
  (v: number): string =>
    v === 0 ? '' : enumName(e, v);

const dropReasonName = enumNames(DropReason);
const observationPointName = enumNames(TraceObservationPoint);
const traceReasonName = enumNames(TraceReason);
const xlatePointName = enumNames(SocketTranslationPoint);

/** Enum8 codes are positions in the lists of enrich/types.ts: one list for TS, columns and Kafka. */
const sourceCodes = new Map<AttributionSource, number>(attributionSources.map((v, i) => [v, i]));
const scopeCodes = new Map<AddressScope, number>(addressScopes.map((v, i) => [v, i]));
const enum8 = (values: readonly string[]) => `Enum8(${values.map((v, i) => `'${v}' = ${i}`).join(', ')})`;

const attributionColumns = (end: 'src' | 'dst') => [
  `${end}_tenant String`,
  `${end}_account String`,
  `${end}_namespace String`,
  `${end}_job String`,
  `${end}_group String`,
  `${end}_alloc_id String`,
  `${end}_alloc_name String`,
  `${end}_node String`,
  `${end}_source ${enum8(attributionSources)}`,
  `${end}_scope ${enum8(addressScopes)}`,
];

/** The columns in encoding order, as a ClickHouse structure string. */
export const flowStructure = [
  "time DateTime64(9, 'UTC')",
  'flow_id FixedString(16)',
  'stored_fields UInt32',
  'node_name String',
  'cluster_name String',
  'emitter_name String',
  'emitter_version String',
  "verdict Enum8('VERDICT_UNKNOWN' = 0, 'FORWARDED' = 1, 'DROPPED' = 2, 'ERROR' = 3, 'AUDIT' = 4, 'REDIRECTED' = 5, 'TRACED' = 6, 'TRANSLATED' = 7)",
  'drop_reason UInt32',
  'drop_reason_desc String',
  "auth_type Enum8('DISABLED' = 0, 'SPIRE' = 1, 'TEST_ALWAYS_FAIL' = 2)",
  "type Enum8('UNKNOWN_TYPE' = 0, 'L3_L4' = 1, 'L7' = 2, 'SOCK' = 3)",
  'event_type Int32',
  'event_sub_type Int32',
  "traffic_direction Enum8('TRAFFIC_DIRECTION_UNKNOWN' = 0, 'INGRESS' = 1, 'EGRESS' = 2)",
  'trace_observation_point String',
  'trace_reason String',
  'policy_match_type UInt32',
  "is_reply Enum8('unknown' = 0, 'false' = 1, 'true' = 2)",
  "ip_version Enum8('IP_NOT_USED' = 0, 'IPv4' = 1, 'IPv6' = 2)",
  'source_ip IPv6',
  'destination_ip IPv6',
  'source_xlated IPv6',
  'ip_encrypted Bool',
  'ethernet_source String',
  'ethernet_destination String',
  "l4_protocol Enum8('NONE' = 0, 'TCP' = 1, 'UDP' = 2, 'ICMPv4' = 3, 'ICMPv6' = 4, 'SCTP' = 5, 'VRRP' = 6, 'IGMP' = 7)",
  'source_port UInt16',
  'destination_port UInt16',
  'tcp_flags UInt16',
  'icmp_type UInt32',
  'icmp_code UInt32',
  'source_id UInt32',
  'destination_id UInt32',
  'source_identity UInt32',
  'destination_identity UInt32',
  'source_cluster String',
  'destination_cluster String',
  'source_namespace String',
  'destination_namespace String',
  'source_pod String',
  'destination_pod String',
  'source_labels Array(String)',
  'destination_labels Array(String)',
  'source_workloads Array(String)',
  'destination_workloads Array(String)',
  'source_names Array(String)',
  'destination_names Array(String)',
  'source_service String',
  'destination_service String',
  'node_labels Array(String)',
  "l7_type Enum8('UNKNOWN_L7_TYPE' = 0, 'REQUEST' = 1, 'RESPONSE' = 2, 'SAMPLE' = 3)",
  "l7_protocol Enum8('none' = 0, 'dns' = 1, 'http' = 2, 'kafka' = 3)",
  'l7_latency_ns UInt64',
  'dns_query String',
  'dns_rcode UInt32',
  'dns_ttl UInt32',
  'dns_ips Array(String)',
  'dns_cnames Array(String)',
  'dns_observation_source String',
  'dns_qtypes Array(String)',
  'dns_rrtypes Array(String)',
  'http_code UInt32',
  'http_method String',
  'http_url String',
  'http_protocol String',
  'http_header_keys Array(String)',
  'http_header_values Array(String)',
  'kafka_topic String',
  'kafka_api_key String',
  'kafka_error_code Int32',
  'kafka_api_version Int32',
  'kafka_correlation_id Int32',
  'interface_name String',
  'interface_index UInt32',
  'proxy_port UInt32',
  'sock_xlate_point String',
  'socket_cookie UInt64',
  'cgroup_id UInt64',
  'trace_id String',
  'egress_allowed_by Array(String)',
  'ingress_allowed_by Array(String)',
  'egress_denied_by Array(String)',
  'ingress_denied_by Array(String)',
  'summary String',
  ...attributionColumns('src'),
  ...attributionColumns('dst'),
  'attribution_conflict String',
  'ingest_target String',
  "received_at DateTime64(9, 'UTC')",
  'flow_extra String',
].join(', ');

/** The column names in encoding order. */
export const flowColumns = flowStructure.split(/,\s(?=[a-z_0-9]+ [A-Z])/).map((c) => c.split(' ')[0]!);

const canonicalUuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The three address columns of the row being encoded, parsed once per flow. */
const addresses = [new Uint8Array(16), new Uint8Array(16), new Uint8Array(16)] as const;

const digits = (n: number) => (n < 10 ? 1 : n < 100 ? 2 : 3);

/**
 * Parses an address into `out` (`::` for none or an unparseable one) and says whether the column
 * gives `s` back exactly: '' is stored as `::`, so `::` itself is not; dotted quads are exact
 * unless written with leading zeros (their length tells); IPv6 text must be the RFC 5952 form.
 */
function parseAddressColumn(s: string | undefined, out: Uint8Array): boolean {
  if (!s) {
    out.fill(0);
    return true;
  }
  if (!parseIpBytes(s, out)) {
    out.fill(0);
    return false;
  }
  if (!s.includes(':'))
    return s.length === digits(out[12]!) + digits(out[13]!) + digits(out[14]!) + digits(out[15]!) + 3;
  return s !== '::' && formatIpBytes(out) === s;
}

const inRange = (v: number, max: number) => v >= 0 && v <= max;
const enumValue = (v: number, max: number) => (inRange(v, max) ? v : 0);

function policyNames(list: readonly Policy[]): string[] {
  return list.map((p) => `${p.kind}:${p.namespace ? `${p.namespace}/` : ''}${p.name}`);
}

function workloadNames(e: Endpoint | undefined): string[] {
  return (e?.workloads ?? []).map((x) => `${x.kind}/${x.name}`);
}

/** An endpoint's columns give it back exactly unless a workload kind holds a '/'. */
function exactEndpoint(e: Endpoint): boolean {
  return e.workloads.every((x) => !x.kind.includes('/'));
}

function attribution(w: RowBinaryWriter, a: EndAttribution): void {
  w.string(a.tenant);
  w.string(a.account);
  w.string(a.namespace);
  w.string(a.job);
  w.string(a.group);
  w.string(a.allocId);
  w.string(a.allocName);
  w.string(a.node);
  w.int8(sourceCodes.get(a.source) ?? 0);
  w.int8(scopeCodes.get(a.scope) ?? 0);
}

/**
 * Decides which fields move into columns and returns the bit set plus what stays in flow_extra.
 * `ipExact`: the address columns give IP.source, destination and source_xlated back exactly.
 */
export function splitFlow(f: IngestedFlow, ipExact: boolean): { stored: number; rest: Flow } {
  const flow = f.flow;
  const rest: Flow = { ...flow };
  let stored = 0;
  if (flow.time && inRange(flow.time.nanos, 999_999_999)) {
    stored |= F.time;
    rest.time = undefined;
  }
  if (flow.uuid && canonicalUuid.test(flow.uuid)) {
    stored |= F.uuid;
    rest.uuid = '';
  }
  if (inRange(flow.verdict, 7)) {
    stored |= F.verdict;
    rest.verdict = 0;
  }
  if (inRange(flow.auth_type, 2)) {
    stored |= F.authType;
    rest.auth_type = 0;
  }
  if (flow.ethernet) {
    stored |= F.ethernet;
    rest.ethernet = undefined;
  }
  const iph = flow.IP;
  if (iph && inRange(iph.ipVersion, 2) && ipExact) {
    stored |= F.ip;
    rest.IP = undefined;
  }
  const l4 = flow.l4;
  if (l4) {
    const variants =
      (l4.TCP ? 1 : 0) + (l4.UDP ? 1 : 0) + (l4.ICMPv4 ? 1 : 0) + (l4.ICMPv6 ? 1 : 0) + (l4.SCTP ? 1 : 0);
    const ports = l4.TCP ?? l4.UDP ?? l4.SCTP;
    const portsFit = !ports || (ports.source_port <= 0xffff && ports.destination_port <= 0xffff);
    if (variants <= 1 && !l4.VRRP && !l4.IGMP && portsFit) {
      stored |= F.l4;
      rest.l4 = undefined;
      if (l4.TCP?.flags) stored |= F.tcpFlags;
    }
  }
  if (flow.source && exactEndpoint(flow.source)) {
    stored |= F.source;
    rest.source = undefined;
  }
  if (flow.destination && exactEndpoint(flow.destination)) {
    stored |= F.destination;
    rest.destination = undefined;
  }
  if (inRange(flow.Type, 3)) {
    stored |= F.type;
    rest.Type = 0;
  }
  if (flow.node_name === f.nodeName) {
    stored |= F.nodeName;
    rest.node_name = '';
  }
  if (flow.event_type) {
    stored |= F.eventType;
    rest.event_type = undefined;
  }
  if (flow.source_service && !flow.source_service.namespace.includes('/')) {
    stored |= F.sourceService;
    rest.source_service = undefined;
  }
  if (flow.destination_service && !flow.destination_service.namespace.includes('/')) {
    stored |= F.destinationService;
    rest.destination_service = undefined;
  }
  if (inRange(flow.traffic_direction, 2)) {
    stored |= F.trafficDirection;
    rest.traffic_direction = 0;
  }
  const l7 = flow.l7;
  if (l7 && inRange(l7.type, 3) && (l7.dns ? 1 : 0) + (l7.http ? 1 : 0) + (l7.kafka ? 1 : 0) <= 1) {
    stored |= F.l7;
    rest.l7 = undefined;
  }
  if (flow.interface) {
    stored |= F.interface;
    rest.interface = undefined;
  }
  if (flow.emitter) {
    stored |= F.emitter;
    rest.emitter = undefined;
  }
  if (flow.trace_context?.parent) {
    stored |= F.traceContext;
    rest.trace_context = undefined;
  }
  // Always exact in their columns.
  rest.drop_reason = 0;
  rest.drop_reason_desc = 0;
  rest.node_labels = [];
  rest.source_names = [];
  rest.destination_names = [];
  rest.policy_match_type = 0;
  rest.trace_observation_point = 0;
  rest.trace_reason = 0;
  rest.is_reply = undefined;
  rest.sock_xlate_point = 0;
  rest.socket_cookie = 0n;
  rest.cgroup_id = 0n;
  rest.proxy_port = 0;
  rest.Summary = '';
  return { stored, rest };
}

/** Appends one flow as a row. */
export function encodeFlowRow(w: RowBinaryWriter, f: IngestedFlow): void {
  const flow = f.flow;
  const [srcIp, dstIp, xlatedIp] = addresses;
  const ipExact =
    parseAddressColumn(flow.IP?.source, srcIp) &&
    parseAddressColumn(flow.IP?.destination, dstIp) &&
    parseAddressColumn(flow.IP?.source_xlated, xlatedIp);
  const { stored, rest } = splitFlow(f, ipExact);
  const ipHdr = flow.IP;
  const l4 = flow.l4;
  const l7 = flow.l7;
  w.dateTime64ns(f.timeNs);
  w.fixed(f.flowId, 16);
  w.uint32(stored);
  w.string(f.nodeName);
  const slash = f.nodeName.indexOf('/');
  w.string(slash > 0 ? f.nodeName.slice(0, slash) : '');
  w.string(flow.emitter?.name ?? '');
  w.string(flow.emitter?.version ?? '');
  w.int8(enumValue(flow.verdict, 7));
  w.uint32(flow.drop_reason);
  w.string(dropReasonName(flow.drop_reason_desc));
  w.int8(enumValue(flow.auth_type, 2));
  w.int8(enumValue(flow.Type, 3));
  w.int32(flow.event_type?.type ?? 0);
  w.int32(flow.event_type?.sub_type ?? 0);
  w.int8(enumValue(flow.traffic_direction, 2));
  w.string(observationPointName(flow.trace_observation_point));
  w.string(traceReasonName(flow.trace_reason));
  w.uint32(flow.policy_match_type);
  w.int8(flow.is_reply === undefined ? 0 : flow.is_reply ? 2 : 1);
  w.int8(enumValue(ipHdr?.ipVersion ?? 0, 2));
  w.ipv6Bytes(srcIp);
  w.ipv6Bytes(dstIp);
  w.ipv6Bytes(xlatedIp);
  w.bool(ipHdr?.encrypted ?? false);
  w.string(flow.ethernet?.source ?? '');
  w.string(flow.ethernet?.destination ?? '');
  let proto = 0;
  let sport = 0;
  let dport = 0;
  let flags = 0;
  let icmpType = 0;
  let icmpCode = 0;
  if (l4?.TCP) {
    proto = 1;
    sport = l4.TCP.source_port;
    dport = l4.TCP.destination_port;
    const t = l4.TCP.flags;
    if (t) {
      flags =
        (t.FIN ? 1 : 0) |
        (t.SYN ? 2 : 0) |
        (t.RST ? 4 : 0) |
        (t.PSH ? 8 : 0) |
        (t.ACK ? 16 : 0) |
        (t.URG ? 32 : 0) |
        (t.ECE ? 64 : 0) |
        (t.CWR ? 128 : 0) |
        (t.NS ? 256 : 0);
    }
  } else if (l4?.UDP) {
    proto = 2;
    sport = l4.UDP.source_port;
    dport = l4.UDP.destination_port;
  } else if (l4?.ICMPv4) {
    proto = 3;
    icmpType = l4.ICMPv4.type;
    icmpCode = l4.ICMPv4.code;
  } else if (l4?.ICMPv6) {
    proto = 4;
    icmpType = l4.ICMPv6.type;
    icmpCode = l4.ICMPv6.code;
  } else if (l4?.SCTP) {
    proto = 5;
    sport = l4.SCTP.source_port;
    dport = l4.SCTP.destination_port;
  } else if (l4?.VRRP) {
    proto = 6;
  } else if (l4?.IGMP) {
    proto = 7;
  }
  w.int8(proto);
  w.uint16(sport);
  w.uint16(dport);
  w.uint16(flags);
  w.uint32(icmpType);
  w.uint32(icmpCode);
  const src = flow.source;
  const dst = flow.destination;
  w.uint32(src?.ID ?? 0);
  w.uint32(dst?.ID ?? 0);
  w.uint32(src?.identity ?? 0);
  w.uint32(dst?.identity ?? 0);
  w.string(src?.cluster_name ?? '');
  w.string(dst?.cluster_name ?? '');
  w.string(src?.namespace ?? '');
  w.string(dst?.namespace ?? '');
  w.string(src?.pod_name ?? '');
  w.string(dst?.pod_name ?? '');
  w.stringArray(src?.labels ?? []);
  w.stringArray(dst?.labels ?? []);
  w.stringArray(workloadNames(src));
  w.stringArray(workloadNames(dst));
  w.stringArray(flow.source_names);
  w.stringArray(flow.destination_names);
  w.string(flow.source_service ? `${flow.source_service.namespace}/${flow.source_service.name}` : '');
  w.string(
    flow.destination_service ? `${flow.destination_service.namespace}/${flow.destination_service.name}` : '',
  );
  w.stringArray(flow.node_labels);
  w.int8(enumValue(l7?.type ?? 0, 3));
  w.int8(l7?.dns ? 1 : l7?.http ? 2 : l7?.kafka ? 3 : 0);
  w.uint64(l7?.latency_ns ?? 0n);
  const dns = l7?.dns;
  w.string(dns?.query ?? '');
  w.uint32(dns?.rcode ?? 0);
  w.uint32(dns?.ttl ?? 0);
  w.stringArray(dns?.ips ?? []);
  w.stringArray(dns?.cnames ?? []);
  w.string(dns?.observation_source ?? '');
  w.stringArray(dns?.qtypes ?? []);
  w.stringArray(dns?.rrtypes ?? []);
  const http = l7?.http;
  w.uint32(http?.code ?? 0);
  w.string(http?.method ?? '');
  w.string(http?.url ?? '');
  w.string(http?.protocol ?? '');
  w.stringArray(http?.headers.map((h) => h.key) ?? []);
  w.stringArray(http?.headers.map((h) => h.value) ?? []);
  const kafka = l7?.kafka;
  w.string(kafka?.topic ?? '');
  w.string(kafka?.api_key ?? '');
  w.int32(kafka?.error_code ?? 0);
  w.int32(kafka?.api_version ?? 0);
  w.int32(kafka?.correlation_id ?? 0);
  w.string(flow.interface?.name ?? '');
  w.uint32(flow.interface?.index ?? 0);
  w.uint32(flow.proxy_port);
  w.string(xlatePointName(flow.sock_xlate_point));
  w.uint64(flow.socket_cookie);
  w.uint64(flow.cgroup_id);
  w.string(flow.trace_context?.parent?.trace_id ?? '');
  w.stringArray(policyNames(flow.egress_allowed_by));
  w.stringArray(policyNames(flow.ingress_allowed_by));
  w.stringArray(policyNames(flow.egress_denied_by));
  w.stringArray(policyNames(flow.ingress_denied_by));
  w.string(flow.Summary);
  const a = f.attribution;
  attribution(w, a?.source ?? unattributed);
  attribution(w, a?.destination ?? unattributed);
  w.string(a?.conflict ?? '');
  w.string(f.target);
  w.dateTime64ns(f.receivedAtNs);
  w.bytes(Flow.encode(rest).finish());
}

/**
 * Rebuilds the ingested Flow from a stored row: `flow_extra` (the fields no column holds) plus the
 * columns named in `stored_fields` (see flow-row.ts, which decides the split). Query paths select
 * `flowRestoreColumns` and call `restoreFlow` on each row.
 * @module
 */
import {
  DropReason,
  Flow,
  SocketTranslationPoint,
  TraceObservationPoint,
  TraceReason,
} from '../../proto/gen/flow/flow.ts';
import { type EnumObject, enumValue } from '../../proto/src/enums.ts';
import { timestampFromNanos } from '../../proto/src/timestamp.ts';
import { formatIpBytes } from '../net/ip.ts';
import { StoredField as F, SparseField as S } from './stored-fields.ts';

/** Columns `restoreFlow` needs on every row (aliases prefixed `r_` so they never clash with a caller's columns). */
const denseColumns = [
  'toString(toUnixTimestamp64Nano(time)) AS r_time',
  'lower(hex(flow_id)) AS r_flow_id',
  'stored_fields AS r_stored',
  'node_name AS r_node_name',
  'emitter_name AS r_emitter_name',
  'emitter_version AS r_emitter_version',
  "CAST(verdict, 'Int8') AS r_verdict",
  'drop_reason AS r_drop_reason',
  'drop_reason_desc AS r_drop_reason_desc',
  "CAST(auth_type, 'Int8') AS r_auth_type",
  "CAST(type, 'Int8') AS r_type",
  'event_type AS r_event_type',
  'event_sub_type AS r_event_sub_type',
  "CAST(traffic_direction, 'Int8') AS r_traffic_direction",
  'trace_observation_point AS r_trace_observation_point',
  'trace_reason AS r_trace_reason',
  'policy_match_type AS r_policy_match_type',
  "CAST(is_reply, 'Int8') AS r_is_reply",
  "CAST(ip_version, 'Int8') AS r_ip_version",
  'hex(source_ip) AS r_source_ip',
  'hex(destination_ip) AS r_destination_ip',
  'hex(source_xlated) AS r_source_xlated',
  'ip_encrypted AS r_ip_encrypted',
  'ethernet_source AS r_ethernet_source',
  'ethernet_destination AS r_ethernet_destination',
  "CAST(l4_protocol, 'Int8') AS r_l4",
  'source_port AS r_source_port',
  'destination_port AS r_destination_port',
  'tcp_flags AS r_tcp_flags',
  ...['source', 'destination'].flatMap((e) => [
    `${e}_id AS r_${e}_id`,
    `${e}_identity AS r_${e}_identity`,
    `${e}_cluster AS r_${e}_cluster`,
    `${e}_namespace AS r_${e}_namespace`,
    `${e}_pod AS r_${e}_pod`,
    `${e}_labels AS r_${e}_labels`,
    `${e}_workloads AS r_${e}_workloads`,
  ]),
  'summary AS r_summary',
];

/** A column of a sparse group: its name in `flows` and how restoreFlow selects it. */
type SparseColumn = readonly [column: string, select: string];
const plain = (...columns: string[]): SparseColumn[] => columns.map((c) => [c, `${c} AS r_${c}`]);

/**
 * The columns of each SparseField group. A row whose `sparse_fields` lacks a group's bit holds the
 * empty value in every column of the group, which is what restoreFlow reads for a column it is
 * not given: so a row read without those columns restores to the same Flow.
 */
export const sparseColumnGroups: readonly { bit: number; columns: readonly SparseColumn[] }[] = [
  { bit: S.icmp, columns: plain('icmp_type', 'icmp_code') },
  { bit: S.names, columns: plain('source_names', 'destination_names') },
  { bit: S.services, columns: plain('source_service', 'destination_service') },
  { bit: S.nodeLabels, columns: plain('node_labels') },
  {
    bit: S.l7,
    columns: [
      ['l7_type', "CAST(l7_type, 'Int8') AS r_l7_type"],
      ['l7_protocol', "CAST(l7_protocol, 'Int8') AS r_l7"],
      ['l7_latency_ns', 'toString(l7_latency_ns) AS r_l7_latency_ns'],
      ...plain(
        'dns_query',
        'dns_rcode',
        'dns_ttl',
        'dns_ips',
        'dns_cnames',
        'dns_observation_source',
        'dns_qtypes',
        'dns_rrtypes',
        'http_code',
        'http_method',
        'http_url',
        'http_protocol',
        'http_header_keys',
        'http_header_values',
        'kafka_topic',
        'kafka_api_key',
        'kafka_error_code',
        'kafka_api_version',
        'kafka_correlation_id',
      ),
    ],
  },
  { bit: S.interface, columns: plain('interface_name', 'interface_index') },
  {
    bit: S.socket,
    columns: [
      ...plain('proxy_port', 'sock_xlate_point'),
      ['socket_cookie', 'toString(socket_cookie) AS r_socket_cookie'],
      ['cgroup_id', 'toString(cgroup_id) AS r_cgroup_id'],
    ],
  },
  { bit: S.traceContext, columns: plain('trace_id') },
  { bit: S.extra, columns: [['flow_extra', 'base64Encode(flow_extra) AS r_extra']] },
];

/** The SELECT list of the sparse groups whose bits are in `mask`. */
export function sparseColumnsSql(mask: number): string {
  return sparseColumnGroups
    .filter((g) => (g.bit & mask) !== 0)
    .flatMap((g) => g.columns.map(([, select]) => select))
    .join(', ');
}

/** The SELECT list `restoreFlow` needs: every column. */
export const flowRestoreColumns = [...denseColumns, sparseColumnsSql(~0)].join(', ');

/**
 * The columns every row needs plus `sparse_fields` (as `r_sparse`): what a listing reads for each
 * row before it reads the sparse groups of the few rows that have them (sparseColumnsSql). Each
 * column costs a listing one block per row it returns, so the ~35 mostly empty ones are left out.
 */
export const flowDenseColumns = [...denseColumns, 'sparse_fields AS r_sparse'].join(', ');

/** A row as selected with `flowRestoreColumns` (JSON: 64-bit values as strings). */
export type StoredFlowRow = Record<string, unknown>;

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v ?? 0));
const strs = (v: unknown): string[] => (Array.isArray(v) ? (v as string[]) : []);

/** Parses an enum column stored as its name ('' for 0, digits for numbers unknown when stored). */
function fromName(e: EnumObject, name: unknown): number {
  const s = str(name);
  if (s === '') return 0;
  return enumValue(e, s) ?? Number(s);
}

/** Formats an IPv6 column (hex) as Hubble wrote it; `::` was stored for "no address". */
function ipText(hex: unknown): string {
  const h = str(hex);
  if (h === '' || /^0+$/.test(h)) return '';
  return formatIpBytes(Buffer.from(h, 'hex'));
}

function uuidText(hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function splitService(s: string): { namespace: string; name: string } {
  const i = s.indexOf('/');
  return { namespace: s.slice(0, i), name: s.slice(i + 1) };
}

/** Rebuilds the Flow of one stored row. */
export function restoreFlow(row: StoredFlowRow): Flow {
  const extra = str(row['r_extra']);
  const flow = Flow.decode(extra ? Buffer.from(extra, 'base64') : new Uint8Array(0));
  const stored = num(row['r_stored']);
  const has = (bit: number) => (stored & bit) !== 0;
  if (has(F.time)) flow.time = timestampFromNanos(BigInt(str(row['r_time'])));
  if (has(F.uuid)) flow.uuid = uuidText(str(row['r_flow_id']));
  if (has(F.emitter))
    flow.emitter = { name: str(row['r_emitter_name']), version: str(row['r_emitter_version']) };
  if (has(F.verdict)) flow.verdict = num(row['r_verdict']) as Flow['verdict'];
  flow.drop_reason = num(row['r_drop_reason']);
  if (has(F.authType)) flow.auth_type = num(row['r_auth_type']) as Flow['auth_type'];
  if (has(F.ethernet)) {
    flow.ethernet = {
      source: str(row['r_ethernet_source']),
      destination: str(row['r_ethernet_destination']),
    };
  }
  if (has(F.ip)) {
    flow.IP = {
      source: ipText(row['r_source_ip']),
      source_xlated: ipText(row['r_source_xlated']),
      destination: ipText(row['r_destination_ip']),
      ipVersion: num(row['r_ip_version']) as NonNullable<Flow['IP']>['ipVersion'],
      encrypted: row['r_ip_encrypted'] === true || row['r_ip_encrypted'] === 1,
    };
  }
  if (has(F.l4)) flow.l4 = restoreL4(row, has(F.tcpFlags));
  for (const end of ['source', 'destination'] as const) {
    if (!has(end === 'source' ? F.source : F.destination)) continue;
    flow[end] = {
      ID: num(row[`r_${end}_id`]),
      identity: num(row[`r_${end}_identity`]),
      cluster_name: str(row[`r_${end}_cluster`]),
      namespace: str(row[`r_${end}_namespace`]),
      labels: strs(row[`r_${end}_labels`]),
      pod_name: str(row[`r_${end}_pod`]),
      workloads: strs(row[`r_${end}_workloads`]).map((w) => {
        const i = w.indexOf('/');
        return { kind: w.slice(0, i), name: w.slice(i + 1) };
      }),
    };
  }
  if (has(F.type)) flow.Type = num(row['r_type']) as Flow['Type'];
  if (has(F.nodeName)) flow.node_name = str(row['r_node_name']);
  flow.node_labels = strs(row['r_node_labels']);
  flow.source_names = strs(row['r_source_names']);
  flow.destination_names = strs(row['r_destination_names']);
  if (has(F.l7)) flow.l7 = restoreL7(row);
  if (has(F.eventType))
    flow.event_type = { type: num(row['r_event_type']), sub_type: num(row['r_event_sub_type']) };
  if (has(F.sourceService)) flow.source_service = splitService(str(row['r_source_service']));
  if (has(F.destinationService)) flow.destination_service = splitService(str(row['r_destination_service']));
  if (has(F.trafficDirection))
    flow.traffic_direction = num(row['r_traffic_direction']) as Flow['traffic_direction'];
  flow.policy_match_type = num(row['r_policy_match_type']);
  flow.trace_observation_point = fromName(
    TraceObservationPoint,
    row['r_trace_observation_point'],
  ) as Flow['trace_observation_point'];
  flow.trace_reason = fromName(TraceReason, row['r_trace_reason']) as Flow['trace_reason'];
  flow.drop_reason_desc = fromName(DropReason, row['r_drop_reason_desc']) as Flow['drop_reason_desc'];
  const reply = num(row['r_is_reply']);
  flow.is_reply = reply === 0 ? undefined : reply === 2;
  if (has(F.interface))
    flow.interface = { name: str(row['r_interface_name']), index: num(row['r_interface_index']) };
  flow.proxy_port = num(row['r_proxy_port']);
  if (has(F.traceContext)) flow.trace_context = { parent: { trace_id: str(row['r_trace_id']) } };
  flow.sock_xlate_point = fromName(
    SocketTranslationPoint,
    row['r_sock_xlate_point'],
  ) as Flow['sock_xlate_point'];
  flow.socket_cookie = BigInt(str(row['r_socket_cookie']) || '0');
  flow.cgroup_id = BigInt(str(row['r_cgroup_id']) || '0');
  flow.Summary = str(row['r_summary']);
  return flow;
}

function restoreL4(row: StoredFlowRow, hasFlags: boolean): Flow['l4'] {
  const ports = { source_port: num(row['r_source_port']), destination_port: num(row['r_destination_port']) };
  const icmp = { type: num(row['r_icmp_type']), code: num(row['r_icmp_code']) };
  switch (num(row['r_l4'])) {
    case 1: {
      const f = num(row['r_tcp_flags']);
      const flags = hasFlags
        ? {
            FIN: (f & 1) !== 0,
            SYN: (f & 2) !== 0,
            RST: (f & 4) !== 0,
            PSH: (f & 8) !== 0,
            ACK: (f & 16) !== 0,
            URG: (f & 32) !== 0,
            ECE: (f & 64) !== 0,
            CWR: (f & 128) !== 0,
            NS: (f & 256) !== 0,
          }
        : undefined;
      return { TCP: { ...ports, flags } };
    }
    case 2:
      return { UDP: ports };
    case 3:
      return { ICMPv4: icmp };
    case 4:
      return { ICMPv6: icmp };
    case 5:
      return { SCTP: ports };
    default:
      return {};
  }
}

function restoreL7(row: StoredFlowRow): Flow['l7'] {
  const l7: NonNullable<Flow['l7']> = {
    type: num(row['r_l7_type']) as NonNullable<Flow['l7']>['type'],
    latency_ns: BigInt(str(row['r_l7_latency_ns']) || '0'),
  };
  switch (num(row['r_l7'])) {
    case 1:
      l7.dns = {
        query: str(row['r_dns_query']),
        ips: strs(row['r_dns_ips']),
        ttl: num(row['r_dns_ttl']),
        cnames: strs(row['r_dns_cnames']),
        observation_source: str(row['r_dns_observation_source']),
        rcode: num(row['r_dns_rcode']),
        qtypes: strs(row['r_dns_qtypes']),
        rrtypes: strs(row['r_dns_rrtypes']),
      };
      break;
    case 2: {
      const values = strs(row['r_http_header_values']);
      l7.http = {
        code: num(row['r_http_code']),
        method: str(row['r_http_method']),
        url: str(row['r_http_url']),
        protocol: str(row['r_http_protocol']),
        headers: strs(row['r_http_header_keys']).map((key, i) => ({ key, value: values[i] ?? '' })),
      };
      break;
    }
    case 3:
      l7.kafka = {
        error_code: num(row['r_kafka_error_code']),
        api_version: num(row['r_kafka_api_version']),
        api_key: str(row['r_kafka_api_key']),
        correlation_id: num(row['r_kafka_correlation_id']),
        topic: str(row['r_kafka_topic']),
      };
      break;
  }
  return l7;
}

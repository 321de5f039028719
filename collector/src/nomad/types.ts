/**
 * The parts of Nomad's objects that attribution needs, normalized once at the edge. Nomad omits
 * zero fields on allocations, prints `null` for nil maps and prints every field elsewhere, so
 * missing, `null` and zero are treated alike here: strings become `''`, times and indexes `0n`,
 * maps `{}`. Times are exact Unix nanoseconds (see json.ts).
 * @module
 */
import { formatIpBytes, parseIpBytes } from '../../../common/net/ip.ts';

/** Allocation client statuses after which the allocation no longer runs (Nomad's ClientTerminalStatus). */
export const terminalClientStatuses: ReadonlySet<string> = new Set(['complete', 'failed', 'lost']);

/** An allocation as far as ownership cares (from the full object, a stub or an event payload). */
export interface NomadAllocation {
  id: string;
  name: string;
  namespace: string;
  nodeId: string;
  nodeName: string;
  jobId: string;
  taskGroup: string;
  desiredStatus: string;
  clientStatus: string;
  createIndex: bigint;
  modifyIndex: bigint;
  createTime: bigint;
  modifyTime: bigint;
  /** `NetworkStatus.Address` (the CNI address; IPv6 when the allocation has only IPv6). */
  address: string;
  /** `NetworkStatus.AddressIPv6`. */
  addressIPv6: string;
  /** Whether the object carried `NetworkStatus` at all (stubs never do). */
  hasNetworkStatus: boolean;
  /** The embedded job's meta (full reads only; event payloads strip `Job`). */
  jobMeta: Readonly<Record<string, string>> | undefined;
  /** The allocation's task group meta from the embedded job (full reads only). */
  groupMeta: Readonly<Record<string, string>> | undefined;
}

/** A job's meta at the job and group level, from Job events or reads. */
export interface NomadJob {
  id: string;
  namespace: string;
  version: bigint;
  modifyIndex: bigint;
  meta: Readonly<Record<string, string>>;
  groupMeta: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

/** A client node and every address that belongs to it (host networking). */
export interface NomadNode {
  id: string;
  name: string;
  status: string;
  modifyIndex: bigint;
  addresses: string[];
}

/** A namespace and its meta (where a namespace-per-tenant platform keeps tenant ids). */
export interface NomadNamespace {
  name: string;
  meta: Readonly<Record<string, string>>;
  modifyIndex: bigint;
}

/** One event of a stream frame; the payload is normalized by topic. */
export interface NomadEvent {
  topic: string;
  type: string;
  key: string;
  namespace: string;
  index: bigint;
  allocation?: NomadAllocation;
  job?: NomadJob & { deleted: boolean };
  node?: NomadNode;
}

/** One NDJSON frame of `/v1/event/stream`; a heartbeat has index 0 and no events. */
export interface NomadEventFrame {
  index: bigint;
  events: NomadEvent[];
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
/** Reads a string field; missing, null and non-strings become ''. */
export const str = (v: unknown): string => (typeof v === 'string' ? v : '');
/** Reads an integer field exactly; missing, null and garbage become 0n. */
export function big(v: unknown): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return BigInt(Math.trunc(v));
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return BigInt(v);
  return 0n;
}
function meta(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(obj(v))) if (typeof val === 'string') out[k] = val;
  return out;
}

/** Normalizes a full allocation, a list stub or an event payload's `Allocation`. */
export function toAllocation(raw: unknown): NomadAllocation {
  const a = obj(raw);
  const ns = a['NetworkStatus'];
  const net = obj(ns);
  const job = a['Job'] ? obj(a['Job']) : undefined;
  const group = str(a['TaskGroup']);
  let groupMeta: Record<string, string> | undefined;
  if (job) {
    const groups = Array.isArray(job['TaskGroups']) ? job['TaskGroups'] : [];
    groupMeta = meta(groups.map(obj).find((g) => str(g['Name']) === group)?.['Meta']);
  }
  return {
    id: str(a['ID']),
    name: str(a['Name']),
    namespace: str(a['Namespace']) || 'default',
    nodeId: str(a['NodeID']),
    nodeName: str(a['NodeName']),
    jobId: str(a['JobID']),
    taskGroup: group,
    desiredStatus: str(a['DesiredStatus']),
    clientStatus: str(a['ClientStatus']),
    createIndex: big(a['CreateIndex']),
    modifyIndex: big(a['ModifyIndex']),
    createTime: big(a['CreateTime']),
    modifyTime: big(a['ModifyTime']),
    address: str(net['Address']),
    addressIPv6: str(net['AddressIPv6']),
    hasNetworkStatus: ns !== undefined && ns !== null,
    jobMeta: job ? meta(job['Meta']) : undefined,
    groupMeta,
  };
}

/** Normalizes a job (full read or Job event payload). */
export function toJob(raw: unknown): NomadJob {
  const j = obj(raw);
  const groupMeta: Record<string, Record<string, string>> = {};
  for (const g of Array.isArray(j['TaskGroups']) ? j['TaskGroups'] : []) {
    const go = obj(g);
    groupMeta[str(go['Name'])] = meta(go['Meta']);
  }
  return {
    id: str(j['ID']),
    namespace: str(j['Namespace']) || 'default',
    version: big(j['Version']),
    modifyIndex: big(j['ModifyIndex']),
    meta: meta(j['Meta']),
    groupMeta,
  };
}

/** Normalizes a node (list stub or full node), collecting every host address it shows. */
export function toNode(raw: unknown): NomadNode {
  const n = obj(raw);
  const addrs = new Set<string>();
  const add = (a: string) => {
    // `[v6]:port`, `v4:port`, or a bare address (a bare IPv6 has several colons).
    let host = a;
    if (host.startsWith('[')) host = host.slice(1, host.indexOf(']') >>> 0);
    else if (host.indexOf(':') === host.lastIndexOf(':')) host = host.replace(/:\d+$/, '');
    const bytes = host ? parseIpBytes(host) : undefined;
    if (!bytes) return;
    const canonical = formatIpBytes(bytes);
    if (canonical !== '127.0.0.1' && canonical !== '::1') addrs.add(canonical);
  };
  add(str(n['Address']));
  add(str(n['HTTPAddr']));
  add(str(obj(n['Attributes'])['unique.network.ip-address']));
  const res = obj(n['NodeResources']);
  for (const net of Array.isArray(res['NodeNetworks']) ? res['NodeNetworks'] : []) {
    for (const a of Array.isArray(obj(net)['Addresses']) ? (obj(net)['Addresses'] as unknown[]) : []) {
      add(str(obj(a)['Address']));
    }
  }
  for (const net of Array.isArray(res['Networks']) ? res['Networks'] : []) {
    if (str(obj(net)['Mode']) === 'host') add(str(obj(net)['IP']));
  }
  return {
    id: str(n['ID']),
    name: str(n['Name']),
    status: str(n['Status']),
    modifyIndex: big(n['ModifyIndex']),
    addresses: [...addrs],
  };
}

/** Normalizes a namespace. */
export function toNamespace(raw: unknown): NomadNamespace {
  const n = obj(raw);
  return { name: str(n['Name']), meta: meta(n['Meta']), modifyIndex: big(n['ModifyIndex']) };
}

/** Normalizes one event-stream frame (`{}` is a heartbeat: index 0, no events). */
export function toEventFrame(raw: unknown): NomadEventFrame {
  const f = obj(raw);
  const events: NomadEvent[] = [];
  for (const e of Array.isArray(f['Events']) ? f['Events'] : []) {
    const eo = obj(e);
    const payload = obj(eo['Payload']);
    const ev: NomadEvent = {
      topic: str(eo['Topic']),
      type: str(eo['Type']),
      key: str(eo['Key']),
      namespace: str(eo['Namespace']),
      index: big(eo['Index']),
    };
    if (payload['Allocation']) ev.allocation = toAllocation(payload['Allocation']);
    if (payload['Job']) ev.job = { ...toJob(payload['Job']), deleted: payload['Deleted'] === true };
    if (payload['Node']) ev.node = toNode(payload['Node']);
    events.push(ev);
  }
  return { index: big(f['Index']), events };
}

/**
 * @module Flow templates: everything about a generated flow except its time, uuid and ports is fixed per
 * (conversation, step), so it is built and encoded once and reused. A `Step` is a template plus the
 * l4 of one packet; `materialize` turns it into a GetFlowsResponse (and bytes) in about a microsecond.
 */
import {
  type DropReason,
  type Endpoint,
  Flow,
  type FlowType,
  type Layer4,
  type Layer7,
  type Policy,
  type TCPFlags,
  type TraceObservationPoint,
  type TraceReason,
  type TrafficDirection,
  type Verdict,
} from '../../../proto/gen/flow/flow.js';
import type { GetFlowsResponse } from '../../../proto/gen/observer/observer.js';
import { netreapLabels, type WorkloadEndpoint } from './population.ts';
import type { RingEvent } from './ring.ts';
import { type EncodedTemplate, encodeFlowResponse, encodeStringField } from './wire.ts';

/** One end of a generated flow as it appears on the wire. */
export interface Peer {
  readonly ip: string;
  readonly endpoint: Endpoint;
  readonly mac: string;
  /** Set for workloads: the node they run on and where their flows are observed. */
  readonly node?: string;
  readonly workload?: WorkloadEndpoint;
  /** The host-side interface of a workload's endpoint (lxc…), for TO_ENDPOINT flows. */
  readonly iface?: { index: number; name: string };
}

/** What a template fixes. Direction fields follow Hubble: replies keep the connection's direction. */
export interface TemplateSpec {
  readonly src: Peer;
  readonly dst: Peer;
  readonly nodeName: string;
  readonly verdict: Verdict;
  readonly dropReason?: DropReason;
  readonly type: FlowType;
  readonly eventType: { type: number; sub_type: number };
  readonly direction: TrafficDirection;
  readonly point: TraceObservationPoint;
  readonly reason: TraceReason;
  readonly isReply: boolean;
  readonly summary: string;
  readonly l7?: Layer7;
  readonly srcXlated?: string;
  readonly srcNames?: readonly string[];
  readonly dstNames?: readonly string[];
  readonly egressDeniedBy?: readonly Policy[];
  readonly iface?: { index: number; name: string };
}

/** A built template. */
export interface Template {
  readonly base: Flow;
  readonly enc: EncodedTemplate;
}

/** One packet of a conversation: the template and this packet's l4. */
export interface Step {
  readonly tpl: Template;
  readonly l4: Layer4 | undefined;
}

const EMPTY_FLOW: Flow = Flow.fromPartial({});
const EMITTER = { name: 'Hubble', version: '1.19.4+flowtrail-generator' };

/** Builds the unchanging part of a flow and encodes it once. */
export function buildTemplate(spec: TemplateSpec): Template {
  const base: Flow = {
    ...EMPTY_FLOW,
    emitter: EMITTER,
    verdict: spec.verdict,
    drop_reason: spec.dropReason ?? 0,
    drop_reason_desc: spec.dropReason ?? 0,
    ethernet: { source: spec.src.mac, destination: spec.dst.mac },
    IP: {
      source: spec.src.ip,
      source_xlated: spec.srcXlated ?? '',
      destination: spec.dst.ip,
      ipVersion: spec.src.ip.includes(':') ? 2 : 1,
      encrypted: false,
    },
    source: spec.src.endpoint,
    destination: spec.dst.endpoint,
    Type: spec.type,
    node_name: spec.nodeName,
    source_names: spec.srcNames ? [...spec.srcNames] : [],
    destination_names: spec.dstNames ? [...spec.dstNames] : [],
    l7: spec.l7,
    reply: spec.isReply,
    is_reply: spec.isReply,
    event_type: spec.eventType,
    traffic_direction: spec.direction,
    trace_observation_point: spec.point,
    trace_reason: spec.reason,
    interface: spec.iface,
    Summary: spec.summary,
    egress_denied_by: spec.egressDeniedBy ? [...spec.egressDeniedBy] : [],
  };
  const flowStatic = Flow.encode(base).finish();
  return {
    base: Object.freeze(base),
    enc: {
      flowStatic,
      nodeNameField: spec.nodeName ? encodeStringField(1000, spec.nodeName) : new Uint8Array(0),
    },
  };
}

/** A bounded template cache: templates are keyed by conversation identity and step. */
export class TemplateCache {
  private readonly map = new Map<string, Template>();
  private readonly limit: number;
  constructor(limit = 50_000) {
    this.limit = limit;
  }

  get(key: string, build: () => TemplateSpec): Template {
    let t = this.map.get(key);
    if (!t) {
      if (this.map.size >= this.limit) this.map.clear();
      t = buildTemplate(build());
      this.map.set(key, t);
    }
    return t;
  }

  get size(): number {
    return this.map.size;
  }
}

/** Frozen TCP flag sets, shared by every flow that uses them. */
export const FLAGS = {
  SYN: flags({ SYN: true }),
  SYN_ACK: flags({ SYN: true, ACK: true }),
  ACK: flags({ ACK: true }),
  ACK_PSH: flags({ ACK: true, PSH: true }),
  ACK_FIN: flags({ ACK: true, FIN: true }),
  RST: flags({ RST: true }),
  ACK_RST: flags({ ACK: true, RST: true }),
} as const;

function flags(set: Partial<TCPFlags>): TCPFlags {
  return Object.freeze({
    FIN: false,
    SYN: false,
    RST: false,
    PSH: false,
    ACK: false,
    URG: false,
    ECE: false,
    CWR: false,
    NS: false,
    ...set,
  });
}

/** Hubble's summary of a TCP packet, e.g. "TCP Flags: ACK, PSH" (Hubble's flag order). */
export function tcpSummary(f: TCPFlags): string {
  const names: string[] = [];
  if (f.SYN) names.push('SYN');
  if (f.ACK) names.push('ACK');
  if (f.FIN) names.push('FIN');
  if (f.RST) names.push('RST');
  if (f.PSH) names.push('PSH');
  if (f.URG) names.push('URG');
  if (f.ECE) names.push('ECE');
  if (f.CWR) names.push('CWR');
  if (f.NS) names.push('NS');
  return `TCP Flags: ${names.join(', ')}`;
}

/** A TCP l4 for one packet. */
export function tcp(sport: number, dport: number, f: TCPFlags): Layer4 {
  return { TCP: { source_port: sport, destination_port: dport, flags: f } };
}

/** A UDP l4 for one packet. */
export function udp(sport: number, dport: number): Layer4 {
  return { UDP: { source_port: sport, destination_port: dport } };
}

function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

function macOf(seed: string): string {
  const h = hash32(seed);
  const b = [0x0a, 0x58, (h >>> 24) & 255, (h >>> 16) & 255, (h >>> 8) & 255, h & 255];
  return b.map((x) => x.toString(16).padStart(2, '0')).join(':');
}

/** A Cilium-style numeric identity for a label set: equal labels, equal identity (≥ 256, like Cilium's). */
export function identityOf(labels: readonly string[]): number {
  return 256 + (hash32(labels.join(';')) % 65_000);
}

/** The wire view of a workload endpoint (labels derived from netreap's scheme when absent). */
export function workloadPeer(ep: WorkloadEndpoint, clusterName: string): Peer {
  const labels = ep.labels ? [...ep.labels] : netreapLabels(ep);
  const id = 1 + (hash32(ep.ip + ep.job) % 4000);
  return {
    ip: ep.ip,
    mac: macOf(ep.ip),
    node: ep.node,
    workload: ep,
    endpoint: {
      ID: id,
      identity: identityOf(labels),
      cluster_name: clusterName,
      namespace: '',
      labels,
      pod_name: '',
      workloads: [],
    },
    iface: { index: 10 + (id % 200), name: `lxc${hash32(ep.ip).toString(16).padStart(8, '0')}` },
  };
}

/** The wire view of an address outside the cluster (Cilium's reserved `world` identity 2). */
export function worldPeer(ip: string): Peer {
  return {
    ip,
    mac: '00:00:5e:00:01:01',
    endpoint: {
      ID: 0,
      identity: 2,
      cluster_name: '',
      namespace: '',
      labels: ['reserved:world'],
      pod_name: '',
      workloads: [],
    },
  };
}

/** A platform service (e.g. the DNS resolver) with its own netreap labels. */
export function platformPeer(ip: string, job: string, group: string, clusterName: string): Peer {
  const labels = [
    `netreap:nomad.job_id=${job}`,
    'netreap:nomad.namespace=platform',
    `netreap:nomad.task_group_id=${group}`,
  ];
  return {
    ip,
    mac: macOf(ip),
    endpoint: {
      ID: 1 + (hash32(ip) % 4000),
      identity: identityOf(labels),
      cluster_name: clusterName,
      namespace: '',
      labels,
      pod_name: '',
      workloads: [],
    },
  };
}

/** Formats a node name the way Hubble does: `<cluster>/<node>` unless the cluster is `default`. */
export function hubbleNodeName(clusterName: string, node: string): string {
  return clusterName && clusterName !== 'default' ? `${clusterName}/${node}` : node;
}

/**
 * A generated ring event whose GetFlowsResponse object is built only when someone reads it (a filter,
 * a JSON writer): the Observer server sends the pre-encoded bytes, so most flows never need the object.
 */
class GeneratedEvent implements RingEvent {
  readonly kind = 'flow' as const;
  readonly nodeName: string;
  readonly seconds: number;
  readonly nanos: number;
  encoded?: Uint8Array;
  private readonly step: Step;
  private readonly secondsBig: bigint;
  private readonly uuid: string;
  private built: GetFlowsResponse | undefined;

  constructor(step: Step, seconds: number, secondsBig: bigint, nanos: number, uuid: string) {
    this.step = step;
    this.nodeName = step.tpl.base.node_name;
    this.seconds = seconds;
    this.secondsBig = secondsBig;
    this.nanos = nanos;
    this.uuid = uuid;
  }

  get response(): GetFlowsResponse {
    if (!this.built) {
      const time = { seconds: this.secondsBig, nanos: this.nanos };
      const base = this.step.tpl.base;
      const flow: Flow = { ...base, time, uuid: this.uuid, l4: this.step.l4 ?? base.l4 };
      this.built = { flow, node_name: flow.node_name, time };
    }
    return this.built;
  }
}

/** Turns steps into ring events: the time, uuid and l4 are the only per-flow work. */
export class Materializer {
  private lastSec = -1;
  private lastSecBig = 0n;
  private readonly encode: boolean;

  constructor(encode: boolean) {
    this.encode = encode;
  }

  /** One ring event for a step at (seconds, nanos) with this uuid. */
  event(step: Step, seconds: number, nanos: number, uuid: string): RingEvent {
    if (seconds !== this.lastSec) {
      this.lastSec = seconds;
      this.lastSecBig = BigInt(seconds);
    }
    const ev = new GeneratedEvent(step, seconds, this.lastSecBig, nanos, uuid);
    if (this.encode) ev.encoded = encodeFlowResponse(step.tpl.enc, seconds, nanos, uuid, step.l4);
    return ev;
  }
}

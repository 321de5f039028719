/**
 * @module Building blocks of generated traffic: a TCP session, a DNS lookup, an HTTP exchange, a UDP
 * exchange, an ICMP echo and a policy drop, each appended to a step list as the packets Hubble would
 * report at the client's node. Field choices follow real captures (shared/fixtures/hubble): replies keep
 * the connection's traffic_direction and set is_reply; egress to the world carries the SNAT address in
 * IP.source_xlated and the DNS name in destination_names; drops carry event_type {1, 133}.
 */
import {
  DropReason,
  FlowType,
  L7FlowType,
  type Layer4,
  type Layer7,
  type Policy,
  type TCPFlags,
  TraceObservationPoint,
  TraceReason,
  TrafficDirection,
  Verdict,
} from '../../../proto/gen/flow/flow.js';
import type { Rng } from './rng.ts';
import {
  buildTemplate,
  FLAGS,
  hubbleNodeName,
  type Peer,
  type Step,
  type Template,
  type TemplateCache,
  type TemplateSpec,
  tcp,
  tcpSummary,
  udp,
  worldPeer,
} from './templates.ts';
import { nodePublicIp } from './world.ts';

const TO_STACK = { type: 4, sub_type: 3 } as const;
const TO_ENDPOINT = { type: 4, sub_type: 0 } as const;
const L7_EVENT = { type: 129, sub_type: 0 } as const;
const POLICY_DROP = { type: 1, sub_type: DropReason.POLICY_DENIED } as const;

/** A Cilium policy that denied a flow, as Hubble reports it in egress_denied_by. */
export function denyPolicy(name: string): Policy {
  return {
    name,
    namespace: '',
    labels: [
      'k8s:io.cilium.k8s.policy.derived-from=CiliumClusterwideNetworkPolicy',
      `k8s:io.cilium.k8s.policy.name=${name}`,
    ],
    revision: 7n,
    kind: 'CiliumClusterwideNetworkPolicy',
  };
}

interface PairTemplates {
  readonly out: Map<TCPFlags, Template>;
  readonly back: Map<TCPFlags, Template>;
}

/** How a TCP connection attempt ends. */
export type TcpOutcome =
  | { kind: 'established'; dataPackets: number }
  | { kind: 'rst' }
  | { kind: 'unanswered' }
  | { kind: 'dropped'; policy: string; attempts: number };

/** Appends conversations' packets as steps; every template it needs is cached. */
export class ConversationBuilder {
  private readonly worlds = new Map<string, Peer>();
  private readonly pairs = new WeakMap<Peer, Map<Peer, Map<string, PairTemplates>>>();

  private readonly rng: Rng;
  private readonly cache: TemplateCache;
  private readonly clusterName: string;

  constructor(rng: Rng, cache: TemplateCache, clusterName: string) {
    this.rng = rng;
    this.cache = cache;
    this.clusterName = clusterName;
  }

  /** The wire view of an outside address (cached). */
  world(ip: string): Peer {
    let p = this.worlds.get(ip);
    if (!p) {
      p = worldPeer(ip);
      this.worlds.set(ip, p);
    }
    return p;
  }

  /** An ephemeral client port, as Linux picks them. */
  ephemeralPort(): number {
    return this.rng.range(32768, 60999);
  }

  private node(client: Peer): string {
    return hubbleNodeName(this.clusterName, client.node ?? 'unknown');
  }

  private isWorld(p: Peer): boolean {
    return p.endpoint.identity === 2;
  }

  /** A packet from client to server (forward direction), observed leaving the client. */
  private forward(
    client: Peer,
    server: Peer,
    summary: string,
    reason: TraceReason,
    names: readonly string[] | undefined,
    extra: Partial<TemplateSpec> = {},
  ): TemplateSpec {
    return {
      src: client,
      dst: server,
      nodeName: this.node(client),
      verdict: Verdict.FORWARDED,
      type: FlowType.L3_L4,
      eventType: TO_STACK,
      direction: TrafficDirection.EGRESS,
      point: TraceObservationPoint.TO_STACK,
      reason,
      isReply: false,
      summary,
      dstNames: names,
      srcXlated: this.isWorld(server) && client.node ? nodePublicIp(client.node) : undefined,
      ...extra,
    };
  }

  /** A packet from server back to client, delivered to the client's endpoint. */
  private backward(
    client: Peer,
    server: Peer,
    summary: string,
    names: readonly string[] | undefined,
    extra: Partial<TemplateSpec> = {},
  ): TemplateSpec {
    return {
      src: server,
      dst: client,
      nodeName: this.node(client),
      verdict: Verdict.FORWARDED,
      type: FlowType.L3_L4,
      eventType: TO_ENDPOINT,
      direction: TrafficDirection.EGRESS,
      point: TraceObservationPoint.TO_ENDPOINT,
      reason: TraceReason.REPLY,
      isReply: true,
      summary,
      srcNames: names,
      iface: client.iface,
      ...extra,
    };
  }

  /** Per (client, server, name) caches of TCP packet templates, keyed by the shared flag objects. */
  private pair(c: Peer, s: Peer, names: readonly string[] | undefined): PairTemplates {
    let byServer = this.pairs.get(c);
    if (!byServer) {
      byServer = new Map();
      this.pairs.set(c, byServer);
    }
    let byName = byServer.get(s);
    if (!byName) {
      byName = new Map();
      byServer.set(s, byName);
    }
    const name = names?.[0] ?? '';
    let p = byName.get(name);
    if (!p) {
      p = { out: new Map(), back: new Map() };
      byName.set(name, p);
    }
    return p;
  }

  private step(key: string, build: () => TemplateSpec, l4: Layer4 | undefined): Step {
    return { tpl: this.cache.get(key, build), l4 };
  }

  private tcpOut(
    out: Step[],
    c: Peer,
    s: Peer,
    sp: number,
    dp: number,
    f: TCPFlags,
    reason: TraceReason,
    names?: readonly string[],
  ): void {
    const cache = this.pair(c, s, names).out;
    let tpl = cache.get(f);
    if (!tpl) {
      tpl = buildTemplate(this.forward(c, s, tcpSummary(f), reason, names));
      cache.set(f, tpl);
    }
    out.push({ tpl, l4: tcp(sp, dp, f) });
  }

  private tcpBack(
    out: Step[],
    c: Peer,
    s: Peer,
    sp: number,
    dp: number,
    f: TCPFlags,
    names?: readonly string[],
  ): void {
    const cache = this.pair(c, s, names).back;
    let tpl = cache.get(f);
    if (!tpl) {
      tpl = buildTemplate(this.backward(c, s, tcpSummary(f), names));
      cache.set(f, tpl);
    }
    out.push({ tpl, l4: tcp(dp, sp, f) });
  }

  /** A policy-denied packet leaving the client (Hubble: DROPPED, POLICY_DENIED, egress_denied_by). */
  drop(
    out: Step[],
    c: Peer,
    s: Peer,
    sp: number,
    dp: number,
    proto: 'tcp' | 'udp',
    policy: string,
    names?: readonly string[],
  ): void {
    const summary = proto === 'tcp' ? tcpSummary(FLAGS.SYN) : 'UDP';
    const key = `d|${c.ip}|${s.ip}|${proto}|${policy}|${names?.[0] ?? ''}`;
    const spec = (): TemplateSpec => ({
      src: c,
      dst: s,
      nodeName: this.node(c),
      verdict: Verdict.DROPPED,
      dropReason: DropReason.POLICY_DENIED,
      type: FlowType.L3_L4,
      eventType: POLICY_DROP,
      direction: TrafficDirection.EGRESS,
      point: TraceObservationPoint.UNKNOWN_POINT,
      reason: TraceReason.TRACE_REASON_UNKNOWN,
      isReply: false,
      summary,
      dstNames: names,
      egressDeniedBy: [denyPolicy(policy)],
    });
    out.push(this.step(key, spec, proto === 'tcp' ? tcp(sp, dp, FLAGS.SYN) : udp(sp, dp)));
  }

  /** A TCP connection attempt from client to server:dport and what happened to it. */
  tcpSession(
    out: Step[],
    c: Peer,
    s: Peer,
    dport: number,
    outcome: TcpOutcome,
    names?: readonly string[],
  ): number {
    const sp = this.ephemeralPort();
    if (outcome.kind === 'dropped') {
      for (let i = 0; i < outcome.attempts; i++)
        this.drop(out, c, s, sp, dport, 'tcp', outcome.policy, names);
      return sp;
    }
    this.tcpOut(out, c, s, sp, dport, FLAGS.SYN, TraceReason.NEW, names);
    if (outcome.kind === 'rst') {
      this.tcpBack(out, c, s, sp, dport, FLAGS.ACK_RST, names);
      return sp;
    }
    if (outcome.kind === 'unanswered') return sp;
    this.tcpBack(out, c, s, sp, dport, FLAGS.SYN_ACK, names);
    this.tcpOut(out, c, s, sp, dport, FLAGS.ACK, TraceReason.ESTABLISHED, names);
    for (let i = 0; i < outcome.dataPackets; i++) {
      this.tcpOut(out, c, s, sp, dport, FLAGS.ACK_PSH, TraceReason.ESTABLISHED, names);
      this.tcpBack(out, c, s, sp, dport, FLAGS.ACK_PSH, names);
    }
    this.tcpOut(out, c, s, sp, dport, FLAGS.ACK_FIN, TraceReason.ESTABLISHED, names);
    this.tcpBack(out, c, s, sp, dport, FLAGS.ACK_FIN, names);
    this.tcpOut(out, c, s, sp, dport, FLAGS.ACK, TraceReason.ESTABLISHED, names);
    return sp;
  }

  /** A DNS lookup through Cilium's DNS proxy: an L7 query and its answer (NXDOMAIN when no ips). */
  dns(out: Step[], c: Peer, resolver: Peer, name: string, ips: readonly string[], qtype = 'A'): void {
    const sp = this.ephemeralPort();
    const query = name.endsWith('.') ? name : `${name}.`;
    const reqL7: Layer7 = {
      type: L7FlowType.REQUEST,
      latency_ns: 0n,
      dns: {
        query,
        ips: [],
        ttl: 0,
        cnames: [],
        observation_source: 'proxy',
        rcode: 0,
        qtypes: [qtype],
        rrtypes: [],
      },
    };
    const l7extra = {
      type: FlowType.L7,
      eventType: L7_EVENT,
      point: TraceObservationPoint.UNKNOWN_POINT,
      srcXlated: undefined,
    };
    out.push(
      this.step(
        `dq|${c.ip}|${resolver.ip}|${query}|${qtype}`,
        () =>
          this.forward(c, resolver, `DNS Query ${query} ${qtype}`, TraceReason.NEW, undefined, {
            ...l7extra,
            l7: reqL7,
          }),
        udp(sp, 53),
      ),
    );
    const nx = ips.length === 0;
    const ttl = nx ? 4294967295 : 30;
    const respL7: Layer7 = {
      type: L7FlowType.RESPONSE,
      latency_ns: 0n,
      dns: {
        query,
        ips: [...ips],
        ttl,
        cnames: [],
        observation_source: 'proxy',
        rcode: nx ? 3 : 0,
        qtypes: [qtype],
        rrtypes: nx ? [] : [qtype],
      },
    };
    const summary = nx
      ? `DNS Answer RCode: Non-Existent Domain TTL: ${ttl} (Proxy ${query} ${qtype})`
      : `DNS Answer "${ips.join(',')}" TTL: ${ttl} (Proxy ${query} ${qtype})`;
    out.push(
      this.step(
        `da|${c.ip}|${resolver.ip}|${query}|${qtype}|${ips.join(',')}`,
        () =>
          this.backward(c, resolver, summary, undefined, {
            ...l7extra,
            l7: respL7,
            iface: undefined,
          }),
        udp(53, sp),
      ),
    );
  }

  /** An HTTP/1.1 exchange on a fresh connection: handshake, L7 request and response, close. */
  http(
    out: Step[],
    c: Peer,
    s: Peer,
    dport: number,
    host: string,
    method: string,
    path: string,
    code: number,
    latencyMs: number,
  ): void {
    const sp = this.ephemeralPort();
    this.tcpOut(out, c, s, sp, dport, FLAGS.SYN, TraceReason.NEW);
    this.tcpBack(out, c, s, sp, dport, FLAGS.SYN_ACK);
    this.tcpOut(out, c, s, sp, dport, FLAGS.ACK, TraceReason.ESTABLISHED);
    const url = `http://${host}:${dport}${path}`;
    const l7extra = {
      type: FlowType.L7,
      eventType: L7_EVENT,
      point: TraceObservationPoint.UNKNOWN_POINT,
      srcXlated: undefined,
    };
    out.push(
      this.step(
        `hq|${c.ip}|${s.ip}|${method}|${url}`,
        () =>
          this.forward(c, s, `HTTP/1.1 ${method} ${url}`, TraceReason.NEW, undefined, {
            ...l7extra,
            l7: {
              type: L7FlowType.REQUEST,
              latency_ns: 0n,
              http: { code: 0, method, url, protocol: 'HTTP/1.1', headers: [] },
            },
          }),
        { TCP: { source_port: sp, destination_port: dport, flags: undefined } },
      ),
    );
    out.push(
      this.step(
        `hr|${c.ip}|${s.ip}|${method}|${url}|${code}|${latencyMs}`,
        () =>
          this.backward(c, s, `HTTP/1.1 ${code} ${latencyMs}ms (${method} ${url})`, undefined, {
            ...l7extra,
            iface: undefined,
            l7: {
              type: L7FlowType.RESPONSE,
              latency_ns: BigInt(latencyMs) * 1_000_000n,
              http: { code, method, url, protocol: 'HTTP/1.1', headers: [] },
            },
          }),
        { TCP: { source_port: dport, destination_port: sp, flags: undefined } },
      ),
    );
    this.tcpOut(out, c, s, sp, dport, FLAGS.ACK_FIN, TraceReason.ESTABLISHED);
    this.tcpBack(out, c, s, sp, dport, FLAGS.ACK_FIN);
  }

  /** A UDP request and its answer (e.g. NTP). */
  udpExchange(out: Step[], c: Peer, s: Peer, dport: number, names?: readonly string[]): void {
    const sp = this.ephemeralPort();
    out.push(
      this.step(
        `uf|${c.ip}|${s.ip}|${names?.[0] ?? ''}`,
        () => this.forward(c, s, 'UDP', TraceReason.NEW, names),
        udp(sp, dport),
      ),
    );
    out.push(
      this.step(
        `ub|${c.ip}|${s.ip}|${names?.[0] ?? ''}`,
        () => this.backward(c, s, 'UDP', names),
        udp(dport, sp),
      ),
    );
  }

  /** An ICMPv4 echo request and reply. */
  ping(out: Step[], c: Peer, s: Peer): void {
    out.push(
      this.step(
        `if|${c.ip}|${s.ip}`,
        () => this.forward(c, s, 'ICMPv4 EchoRequest', TraceReason.NEW, undefined),
        {
          ICMPv4: { type: 8, code: 0 },
        },
      ),
    );
    out.push(
      this.step(`ib|${c.ip}|${s.ip}`, () => this.backward(c, s, 'ICMPv4 EchoReply', undefined), {
        ICMPv4: { type: 0, code: 0 },
      }),
    );
  }
}

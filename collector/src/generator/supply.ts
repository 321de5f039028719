/**
 * @module The contract between a flow supply (the synthetic generator, a JSON-lines replay) and the
 * Observer gRPC server: a bounded ring to read from plus what ServerStatus, GetNodes and GetNamespaces
 * report. Also the small bookkeeping both supplies share.
 */
import type { RingEvent } from './ring.ts';
import { FlowRing } from './ring.ts';

/** A source of Hubble events the Observer server can serve. */
export interface FlowSupply {
  /** The ring the server reads and follows. */
  readonly ring: FlowRing;
  /** One line for humans: what is being served. */
  describe(): string;
  /** Node names seen so far (GetNodes, ServerStatus.num_connected_nodes). */
  nodeNames(): readonly string[];
  /** Kubernetes namespaces seen in flows, with their cluster (GetNamespaces). */
  namespaces(): readonly { cluster: string; namespace: string }[];
  /** Recent flows per second, for ServerStatus.flows_rate. */
  flowsRate(): number;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Tracks nodes, namespaces and the flow rate of what a supply pushes; shared by both supplies. */
export class SupplyBook {
  readonly ring: FlowRing;
  private readonly nodes = new Set<string>();
  private readonly ns = new Map<string, { cluster: string; namespace: string }>();
  private rateWindowStart = Date.now();
  private rateWindowCount = 0;
  private lastRate = 0;

  constructor(capacity: number) {
    this.ring = new FlowRing(capacity);
  }

  /** Pushes an event into the ring and notes its node and namespaces (call ring.notify() after a batch). */
  push(ev: RingEvent): void {
    this.ring.push(ev);
    if (ev.kind !== 'flow') return;
    this.rateWindowCount++;
    if (ev.nodeName !== undefined) {
      // A generated flow: node known without building the response object; no k8s namespaces.
      this.nodes.add(ev.nodeName);
      return;
    }
    const r = ev.response;
    if (r.node_name) this.nodes.add(r.node_name);
    const f = r.flow;
    if (!f) return;
    const s = f.source;
    if (s?.namespace) this.noteNs(s.cluster_name, s.namespace);
    const d = f.destination;
    if (d?.namespace) this.noteNs(d.cluster_name, d.namespace);
  }

  private noteNs(cluster: string, namespace: string): void {
    const key = `${cluster}/${namespace}`;
    if (!this.ns.has(key)) this.ns.set(key, { cluster, namespace });
  }

  /** Adds a node name known in advance (e.g. from the population). */
  addNode(name: string): void {
    this.nodes.add(name);
  }

  nodeNames(): readonly string[] {
    return [...this.nodes].sort();
  }

  namespaces(): readonly { cluster: string; namespace: string }[] {
    return [...this.ns.values()].sort((a, b) =>
      a.cluster === b.cluster ? a.namespace.localeCompare(b.namespace) : a.cluster.localeCompare(b.cluster),
    );
  }

  flowsRate(): number {
    const now = Date.now();
    const elapsed = now - this.rateWindowStart;
    if (elapsed >= 1000) {
      this.lastRate = (this.rateWindowCount * 1000) / elapsed;
      this.rateWindowStart = now;
      this.rateWindowCount = 0;
    }
    return this.lastRate;
  }
}

/** Splits a protobuf Timestamp (bigint seconds) into the ring's number pair. */
export function splitTime(t: { seconds: bigint; nanos: number } | undefined): {
  seconds: number;
  nanos: number;
} {
  return t ? { seconds: Number(t.seconds), nanos: t.nanos } : { seconds: 0, nanos: 0 };
}

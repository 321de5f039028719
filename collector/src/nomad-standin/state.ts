/**
 * The stand-in's cluster state: namespaces, nodes, jobs and allocations in Nomad's field names,
 * a raft index bumped by every mutation, per-table indexes for blocking queries, and the event
 * buffer (the last `eventBufferSize` raft applies, as Nomad's broker keeps them). Each mutation
 * is one raft apply and publishes one frame with the events Nomad would emit for it.
 * @module
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';

/** An event as Nomad encodes it (keys sorted when encoded). */
export interface StandinEvent {
  FilterKeys: string[] | null;
  Index: bigint;
  Key: string;
  Namespace: string;
  Payload: Record<string, unknown>;
  Topic: string;
  Type: string;
}

/** One buffered raft apply. */
export interface StandinFrame {
  Index: bigint;
  Events: StandinEvent[];
}

/** A Nomad object in its Go field names, encoded by encode.ts. */
export type GoObject = Record<string, unknown>;
/** The state-store tables whose indexes blocking queries wait on. */
export type Table = 'allocs' | 'nodes' | 'jobs' | 'namespaces';

/** Options of the state. */
export interface StandinStateOptions {
  /** Buffered raft applies (Nomad's `event_buffer_size`). Default 100. */
  eventBufferSize?: number;
  /** Clock in Unix ns; must be non-decreasing. Default: wall clock, strictly increasing. */
  clock?: () => bigint;
}

/** A monotonic wall clock in nanoseconds: never repeats a value, even within a millisecond. */
export function createMonotonicClock(): () => bigint {
  let last = 0n;
  return () => {
    const t = BigInt(Date.now()) * 1_000_000n;
    last = t > last ? t : last + 1n;
    return last;
  };
}

const terminal = new Set(['complete', 'failed', 'lost']);

/** The mutable cluster state. */
export function createStandinState(opts: StandinStateOptions = {}) {
  const clock = opts.clock ?? createMonotonicClock();
  const bufferSize = opts.eventBufferSize ?? 100;
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  let index = 1n;
  const tableIndex: Record<Table, bigint> = { allocs: 1n, nodes: 1n, jobs: 1n, namespaces: 1n };
  const namespaces = new Map<string, GoObject>();
  const nodes = new Map<string, GoObject>();
  const jobs = new Map<string, GoObject>();
  const allocs = new Map<string, GoObject>();
  const buffer: StandinFrame[] = [];

  const jobKey = (ns: string, id: string) => `${ns}/${id}`;

  function apply(tables: Table[], build: (idx: bigint) => StandinEvent[]): bigint {
    index += 1n;
    const idx = index;
    for (const t of tables) tableIndex[t] = idx;
    const events = build(idx);
    if (events.length > 0) {
      const frame = { Index: idx, Events: events };
      buffer.push(frame);
      if (buffer.length > bufferSize) buffer.shift();
      emitter.emit('frame', frame);
    }
    for (const t of tables) emitter.emit(`change:${t}`);
    return idx;
  }

  const allocEvent = (a: GoObject, type: string, idx: bigint): StandinEvent => {
    const { Job: _job, ...payload } = a; // event payloads carry no Job (nomad/state/events.go)
    return {
      FilterKeys: [String(a['JobID']), String(a['DeploymentID'] ?? '')],
      Index: idx,
      Key: String(a['ID']),
      Namespace: String(a['Namespace']),
      Payload: { Allocation: payload },
      Topic: 'Allocation',
      Type: type,
    };
  };

  function updateAlloc(id: string, type: string, change: (a: GoObject) => void): GoObject {
    const a = allocs.get(id);
    if (!a) throw new Error(`no allocation ${id}`);
    apply(['allocs'], (idx) => {
      change(a);
      a['ModifyIndex'] = idx;
      a['ModifyTime'] = clock();
      return [allocEvent(a, type, idx)];
    });
    return a;
  }

  return {
    emitter,
    buffer,
    namespaces,
    nodes,
    jobs,
    allocs,
    clock,
    get index() {
      return index;
    },
    tableIndex,
    upsertNamespace(name: string, meta: Record<string, string> | null = null, description = ''): void {
      apply(['namespaces'], (idx) => {
        const cur = namespaces.get(name);
        namespaces.set(name, {
          Capabilities: null,
          CreateIndex: cur?.['CreateIndex'] ?? idx,
          Description: description,
          Meta: meta,
          ModifyIndex: idx,
          Name: name,
          Quota: '',
        });
        return []; // Nomad has no Namespace topic
      });
    },
    upsertNode(node: { id: string; name: string; address: string; status?: string }): void {
      apply(['nodes'], (idx) => {
        const cur = nodes.get(node.id);
        const full: GoObject = {
          Attributes: { 'os.name': 'ubuntu', 'unique.network.ip-address': node.address },
          CreateIndex: cur?.['CreateIndex'] ?? idx,
          Datacenter: 'dc1',
          Drain: false,
          HTTPAddr: `${node.address}:4646`,
          ID: node.id,
          Meta: null,
          ModifyIndex: idx,
          Name: node.name,
          NodeClass: '',
          NodePool: 'default',
          SchedulingEligibility: 'eligible',
          Status: node.status ?? 'ready',
          StatusDescription: '',
          StatusUpdatedAt: BigInt(Math.floor(Date.now() / 1000)),
        };
        nodes.set(node.id, full);
        return [
          {
            FilterKeys: null,
            Index: idx,
            Key: node.id,
            Namespace: '',
            Payload: { Node: full },
            Topic: 'Node',
            Type: cur ? 'NodeStreamEvent' : 'NodeRegistration',
          },
        ];
      });
    },
    registerJob(job: {
      namespace: string;
      id: string;
      meta: Record<string, string> | null;
      groups: { name: string; meta?: Record<string, string> | null }[];
    }): GoObject {
      let out: GoObject = {};
      apply(['jobs'], (idx) => {
        const cur = jobs.get(jobKey(job.namespace, job.id));
        out = {
          Affinities: null,
          AllAtOnce: false,
          Constraints: null,
          CreateIndex: cur?.['CreateIndex'] ?? idx,
          Datacenters: ['dc1'],
          ID: job.id,
          JobModifyIndex: idx,
          Meta: job.meta,
          ModifyIndex: idx,
          Name: job.id,
          Namespace: job.namespace,
          NodePool: 'default',
          ParentID: '',
          Priority: 50,
          Region: 'global',
          Spreads: null,
          Stable: false,
          Status: 'running',
          StatusDescription: '',
          SubmitTime: clock(),
          TaskGroups: job.groups.map((g) => ({
            Count: 1,
            Meta: g.meta ?? null,
            Name: g.name,
            Networks: [{ Mode: 'cni/cilium' }],
            Tasks: [],
          })),
          Type: 'service',
          Version: cur ? BigInt(cur['Version'] as bigint) + 1n : 0n,
        };
        jobs.set(jobKey(job.namespace, job.id), out);
        return [
          {
            FilterKeys: null,
            Index: idx,
            Key: job.id,
            Namespace: job.namespace,
            Payload: { Job: out },
            Topic: 'Job',
            Type: 'JobRegistered',
          },
        ];
      });
      return out;
    },
    /** Places a new allocation (PlanResult, pending, no NetworkStatus yet). */
    placeAllocation(p: {
      namespace: string;
      jobId: string;
      group: string;
      nodeId: string;
      id?: string;
    }): GoObject {
      const job = jobs.get(jobKey(p.namespace, p.jobId));
      const node = nodes.get(p.nodeId);
      if (!job || !node) throw new Error(`unknown job ${p.jobId} or node ${p.nodeId}`);
      const id = p.id ?? randomUUID();
      const count = [...allocs.values()].filter(
        (a) => a['JobID'] === p.jobId && a['Namespace'] === p.namespace,
      ).length;
      let alloc: GoObject = {};
      apply(['allocs'], (idx) => {
        const now = clock();
        alloc = {
          AllocModifyIndex: idx,
          ClientStatus: 'pending',
          CreateIndex: idx,
          CreateTime: now,
          DesiredStatus: 'run',
          EvalID: randomUUID(),
          ID: id,
          Job: job,
          JobID: p.jobId,
          ModifyIndex: idx,
          ModifyTime: now,
          Name: `${p.jobId}.${p.group}[${count}]`,
          Namespace: p.namespace,
          NodeID: p.nodeId,
          NodeName: node['Name'],
          TaskGroup: p.group,
        };
        allocs.set(id, alloc);
        return [
          allocEvent(alloc, 'PlanResult', idx),
          {
            FilterKeys: null,
            Index: idx,
            Key: p.jobId,
            Namespace: p.namespace,
            Payload: { Job: job },
            Topic: 'Job',
            Type: 'PlanResult',
          },
        ];
      });
      return alloc;
    },
    /** The client reports its network (AllocationUpdated, still pending): the address appears. */
    setAllocNetwork(id: string, address: string, addressIPv6 = ''): GoObject {
      return updateAlloc(id, 'AllocationUpdated', (a) => {
        a['NetworkStatus'] = { Address: address, AddressIPv6: addressIPv6, DNS: null, InterfaceName: 'eth0' };
        a['ClientDescription'] = 'No tasks have started';
      });
    },
    setAllocClientStatus(id: string, status: string): GoObject {
      return updateAlloc(id, 'AllocationUpdated', (a) => {
        a['ClientStatus'] = status;
        a['ClientDescription'] = status === 'running' ? 'Tasks are running' : 'All tasks have completed';
      });
    },
    /** The scheduler stops an allocation (PlanResult, DesiredStatus stop; still running). */
    stopAllocation(id: string): GoObject {
      return updateAlloc(id, 'PlanResult', (a) => {
        a['DesiredStatus'] = 'stop';
        a['DesiredDescription'] = 'alloc is being stopped';
      });
    },
    isTerminal(a: GoObject): boolean {
      return terminal.has(String(a['ClientStatus']));
    },
  };
}

/** The state object the server and the scenario share. */
export type StandinState = ReturnType<typeof createStandinState>;

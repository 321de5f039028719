/**
 * @module A Hubble-compatible gRPC server over a flow supply: `observer.Observer` (GetFlows with number,
 * first, follow, since, until and whitelist/blacklist; ServerStatus; GetNodes; GetNamespaces) and
 * `grpc.health.v1.Health` answering SERVING for `hubble.server.Observer`, so `hubble observe/status/list`
 * and our collector can talk to it. GetFlows semantics follow Cilium's local_observer.go
 * (shared/reference/hubble-wire.md §8); writes honour HTTP/2 flow control (wait for 'drain'), so a slow
 * client holds at most a stream's high-water mark of messages in server memory.
 */
import * as grpc from '@grpc/grpc-js';
import { errorMessage } from '../../../common/errors.ts';
import { compileFlowFilters, FlowFilterError } from '../../../common/filter/index.ts';
import { createLogger, type Logger } from '../../../common/logger.ts';
import { type Flow, LostEventSource } from '../../../proto/gen/flow/flow.js';
import {
  type HealthCheckRequest,
  type HealthCheckResponse,
  HealthCheckResponse_ServingStatus,
  HealthService,
} from '../../../proto/gen/health/health.js';
import {
  type GetFlowsRequest,
  GetFlowsResponse,
  type GetNamespacesResponse,
  type GetNodesResponse,
  ObserverService,
  type ServerStatusResponse,
} from '../../../proto/gen/observer/observer.js';
import { NodeState } from '../../../proto/gen/relay/relay.js';
import { compareTime, type FlowRing, type RingCursor, type RingEvent } from './ring.ts';
import type { FlowSupply } from './supply.ts';

/** The health-check service name `hubble status` asks about (Cilium's ObserverServiceName). */
export const OBSERVER_HEALTH_SERVICE = 'hubble.server.Observer';

/** Options of the Observer server. */
export interface ObserverServerOptions {
  /** `host:port` (port 0 picks a free one) or `unix:/path/to.sock`. */
  listen: string;
  supply: FlowSupply;
  /** ServerStatus.version. @default 'flowtrail-simulate (hubble 1.19 compatible)' */
  version?: string;
  logger?: Logger;
  /**
   * Messages one call may queue before its loop waits for 'drain' (grpc-js reports "full" at 16).
   * @default 16
   */
  maxQueuedPerCall?: number;
}

/** Live numbers of the server, for tests of backpressure and for logs. */
export interface ObserverServerStats {
  /** GetFlows calls in progress. */
  activeCalls: number;
  /** Messages buffered in server memory for all calls right now (grpc write queues). */
  bufferedMessages: number;
  /** The most messages ever buffered for one call. */
  maxBufferedPerCall: number;
  /** Flows (and lost events) written to clients since start. */
  sentEvents: number;
  /** GetFlows calls waiting right now for a slow client to read ('drain'): backpressure at work. */
  waitingCalls: number;
}

/** A running (or startable) Observer server. */
export interface ObserverServer {
  /** Binds and starts serving; resolves to the bound address (`host:port` with the real port, or `unix:…`). */
  start(): Promise<string>;
  /** Stops accepting calls, ends open streams, and closes (forcefully after `graceMs`). */
  stop(graceMs?: number): Promise<void>;
  /** The bound address once started. */
  readonly address: string;
  stats(): ObserverServerStats;
}

type Out = GetFlowsResponse | Uint8Array;

/**
 * The Observer service definition with a GetFlows serializer that passes pre-encoded bytes through, so
 * generated flows are sent without re-encoding. Clients see ordinary GetFlowsResponse messages.
 */
const observerDefinition = {
  ...ObserverService,
  getFlows: {
    ...ObserverService.getFlows,
    responseSerialize: (value: Out): Buffer =>
      value instanceof Uint8Array
        ? Buffer.isBuffer(value)
          ? value
          : Buffer.from(value.buffer, value.byteOffset, value.byteLength)
        : Buffer.from(GetFlowsResponse.encode(value).finish()),
  },
} as const;

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const WRITES_PER_YIELD = 512;

interface TimeBound {
  seconds: number;
  nanos: number;
}

function bound(t: { seconds: bigint; nanos: number } | undefined): TimeBound | undefined {
  return t ? { seconds: Number(t.seconds), nanos: t.nanos } : undefined;
}

/**
 * Where a GetFlows read starts, exactly as Cilium's newRingReader: `first` without `since` → oldest;
 * `follow` with number 0 and no `since` → only new events; otherwise rewind from the newest event until
 * `number` matching flows were counted or (since takes precedence) a flow older than `since` is reached.
 */
export function startSequence(
  ring: FlowRing,
  req: { first: boolean; follow: boolean; number: number; since: TimeBound | undefined },
  matches: ((flow: Flow) => boolean) | undefined,
): number {
  if (req.first && !req.since) return ring.oldest;
  // Everything requested and no time bound: the rewind would reach the oldest event anyway.
  if (!req.since && !req.follow && (req.number === 0 || req.number === Number.POSITIVE_INFINITY))
    return ring.oldest;
  if (req.follow && req.number === 0 && !req.since) return ring.head;
  let count = 0;
  for (let seq = ring.head - 1; seq >= ring.oldest; seq--) {
    const ev = ring.at(seq);
    if (ev?.kind !== 'flow') continue;
    if (matches) {
      const flow = ev.response.flow;
      if (!flow || !matches(flow)) continue;
    }
    count++;
    if (req.since) {
      if (compareTime(ev, req.since.seconds, req.since.nanos) < 0) return seq + 1;
    } else if (count === req.number) return seq;
  }
  return ring.oldest;
}

function encodedOf(ev: RingEvent): Uint8Array {
  if (!ev.encoded) ev.encoded = GetFlowsResponse.encode(ev.response).finish();
  return ev.encoded;
}

function nowTimestamp() {
  const ms = Date.now();
  return { seconds: BigInt(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 };
}

function parseListen(listen: string): string {
  if (listen.startsWith('unix:')) return listen;
  if (/^:\d+$/.test(listen)) return `0.0.0.0${listen}`;
  if (!/^(\[[^\]]+\]|[^:]+):\d+$/.test(listen)) {
    throw new RangeError(`listen address must be host:port or unix:/path, got "${listen}"`);
  }
  return listen;
}

/** Creates the server; nothing is bound until `start()`. */
export function createObserverServer(options: ObserverServerOptions): ObserverServer {
  const log = (options.logger ?? createLogger('generator')).child('observer');
  const version = options.version ?? 'flowtrail-simulate (hubble 1.19 compatible)';
  const supply = options.supply;
  const maxQueued = options.maxQueuedPerCall ?? 16;
  const target = parseListen(options.listen);
  const startedAt = process.hrtime.bigint();
  const calls = new Map<grpc.ServerWritableStream<GetFlowsRequest, Out>, () => void>();
  let server: grpc.Server | undefined;
  let address = '';
  let maxBufferedPerCall = 0;
  let sentEvents = 0;
  let waitingCalls = 0;

  const uptimeNs = () => process.hrtime.bigint() - startedAt;

  async function getFlows(call: grpc.ServerWritableStream<GetFlowsRequest, Out>): Promise<void> {
    const req = call.request;
    const fail = (code: grpc.status, details: string) => {
      call.emit('error', { code, details, name: 'Error', message: details, metadata: new grpc.Metadata() });
    };
    if (req.first && req.follow)
      return fail(grpc.status.INVALID_ARGUMENT, 'first cannot be specified with follow');
    let matches: ((flow: Flow) => boolean) | undefined;
    try {
      if (req.whitelist.length > 0 || req.blacklist.length > 0)
        matches = compileFlowFilters(req.whitelist, req.blacklist);
    } catch (err) {
      if (err instanceof FlowFilterError) return fail(grpc.status.INVALID_ARGUMENT, err.message);
      throw err;
    }
    const ring = supply.ring;
    const number = req.number > MAX_SAFE ? Number.POSITIVE_INFINITY : Number(req.number);
    const since = bound(req.since);
    const until = bound(req.until);
    const cursor: RingCursor = {
      next: startSequence(ring, { first: req.first, follow: req.follow, number, since }, matches),
    };
    const endSeq = req.follow ? Number.POSITIVE_INFINITY : ring.head;
    const untrack = req.follow ? ring.track(cursor) : undefined;
    let cancelled = false;
    let stopping = false;
    let wake: (() => void) | undefined;
    const onGone = () => {
      cancelled = true;
      wake?.();
    };
    call.on('cancelled', onGone);
    call.on('error', onGone);
    calls.set(call, () => {
      stopping = true;
      wake?.();
    });
    const waitFor = (p: Promise<unknown>) =>
      new Promise<void>((resolve) => {
        wake = resolve;
        void p.then(() => resolve());
      }).finally(() => {
        wake = undefined;
      });
    const drained = () => new Promise<void>((resolve) => call.once('drain', resolve));
    let sent = 0;
    let writesSinceYield = 0;
    const write = async (payload: Out): Promise<void> => {
      sentEvents++;
      const ok = call.write(payload);
      const buffered = call.writableLength;
      if (buffered > maxBufferedPerCall) maxBufferedPerCall = buffered;
      if (!ok && buffered >= maxQueued) {
        writesSinceYield = 0;
        waitingCalls++;
        try {
          await waitFor(drained());
        } finally {
          waitingCalls--;
        }
      } else if (++writesSinceYield >= WRITES_PER_YIELD) {
        writesSinceYield = 0;
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    };
    try {
      while (!cancelled && !stopping && cursor.next < endSeq) {
        if (cursor.next < ring.oldest) {
          // This reader fell a full ring behind: say how many events it lost, as Hubble does.
          const lost = ring.oldest - cursor.next;
          cursor.next = ring.oldest;
          const time = nowTimestamp();
          await write({
            lost_events: {
              source: LostEventSource.HUBBLE_RING_BUFFER,
              num_events_lost: BigInt(lost),
              first: time,
              last: time,
            },
            node_name: '',
            time,
          });
          continue;
        }
        const ev = ring.at(cursor.next);
        if (!ev) {
          if (!req.follow || ring.closed) break;
          await waitFor(ring.changed());
          continue;
        }
        cursor.next++;
        if (ev.kind === 'flow') {
          if (since && compareTime(ev, since.seconds, since.nanos) < 0) continue;
          if (until && compareTime(ev, until.seconds, until.nanos) > 0) break;
          if (matches) {
            const flow = ev.response.flow;
            if (!flow || !matches(flow)) continue;
          }
          await write(encodedOf(ev));
          if (++sent >= number && number > 0) break;
        } else {
          await write(encodedOf(ev));
        }
      }
      if (!cancelled) call.end();
    } catch (err) {
      log.warn('getflows stream failed', { error: errorMessage(err) });
      if (!cancelled) fail(grpc.status.INTERNAL, errorMessage(err));
    } finally {
      untrack?.();
      calls.delete(call);
    }
  }

  const observerImpl = {
    getFlows: (call: grpc.ServerWritableStream<GetFlowsRequest, Out>) => {
      void getFlows(call);
    },
    getAgentEvents: (call: grpc.ServerWritableStream<unknown, unknown>) => {
      call.emit('error', { code: grpc.status.UNIMPLEMENTED, details: 'agent events are not simulated' });
    },
    getDebugEvents: (call: grpc.ServerWritableStream<unknown, unknown>) => {
      call.emit('error', { code: grpc.status.UNIMPLEMENTED, details: 'debug events are not simulated' });
    },
    getNodes: (_call: unknown, cb: grpc.sendUnaryData<GetNodesResponse>) => {
      const uptime = uptimeNs();
      cb(null, {
        nodes: supply.nodeNames().map((name) => ({
          name,
          version,
          address,
          state: NodeState.NODE_CONNECTED,
          tls: { enabled: false, server_name: '' },
          uptime_ns: uptime,
          num_flows: 0n,
          max_flows: BigInt(supply.ring.capacity),
          seen_flows: 0n,
        })),
      });
    },
    getNamespaces: (_call: unknown, cb: grpc.sendUnaryData<GetNamespacesResponse>) => {
      cb(null, {
        namespaces: supply.namespaces().map((n) => ({ cluster: n.cluster, namespace: n.namespace })),
      });
    },
    serverStatus: (_call: unknown, cb: grpc.sendUnaryData<ServerStatusResponse>) => {
      const ring = supply.ring;
      cb(null, {
        num_flows: BigInt(ring.size),
        max_flows: BigInt(ring.capacity),
        seen_flows: BigInt(ring.seen),
        uptime_ns: uptimeNs(),
        num_connected_nodes: supply.nodeNames().length,
        num_unavailable_nodes: 0,
        unavailable_nodes: [],
        version,
        flows_rate: supply.flowsRate(),
      });
    },
  };

  const healthImpl = {
    check: (
      call: grpc.ServerUnaryCall<HealthCheckRequest, HealthCheckResponse>,
      cb: grpc.sendUnaryData<HealthCheckResponse>,
    ) => {
      const service = call.request.service;
      if (service === '' || service === OBSERVER_HEALTH_SERVICE) {
        cb(null, { status: HealthCheckResponse_ServingStatus.SERVING });
      } else cb({ code: grpc.status.NOT_FOUND, details: `unknown service "${service}"` });
    },
    watch: (call: grpc.ServerWritableStream<HealthCheckRequest, HealthCheckResponse>) => {
      const service = call.request.service;
      const known = service === '' || service === OBSERVER_HEALTH_SERVICE;
      call.write({
        status: known
          ? HealthCheckResponse_ServingStatus.SERVING
          : HealthCheckResponse_ServingStatus.SERVICE_UNKNOWN,
      });
    },
  };

  return {
    get address() {
      return address;
    },
    stats: () => {
      let buffered = 0;
      for (const c of calls.keys()) buffered += c.writableLength;
      return {
        activeCalls: calls.size,
        bufferedMessages: buffered,
        maxBufferedPerCall,
        sentEvents,
        waitingCalls,
      };
    },
    async start() {
      if (server) return address;
      const s = new grpc.Server();
      s.addService(
        observerDefinition as unknown as grpc.ServiceDefinition,
        observerImpl as unknown as grpc.UntypedServiceImplementation,
      );
      s.addService(
        HealthService as unknown as grpc.ServiceDefinition,
        healthImpl as unknown as grpc.UntypedServiceImplementation,
      );
      const port = await new Promise<number>((resolve, reject) => {
        s.bindAsync(target, grpc.ServerCredentials.createInsecure(), (err, p) =>
          err ? reject(err) : resolve(p),
        );
      });
      server = s;
      address = target.startsWith('unix:') ? target : target.replace(/:\d+$/, `:${port}`);
      log.info('observer server listening', { address, supply: supply.describe() });
      return address;
    },
    async stop(graceMs = 2000) {
      const s = server;
      if (!s) return;
      server = undefined;
      for (const stopCall of calls.values()) stopCall();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          s.forceShutdown();
          resolve();
        }, graceMs);
        s.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      log.info('observer server stopped', { address });
    },
  };
}

/** Creates and starts an Observer server: the one-call form for tests and the simulate command. */
export async function startObserverServer(options: ObserverServerOptions): Promise<ObserverServer> {
  const server = createObserverServer(options);
  await server.start();
  return server;
}

/**
 * The Hubble gRPC source: `Observer.GetFlows` with follow against one target, kept alive for
 * ever. On every (re)connect it asks for flows `since` the newest one it already has (the newest
 * stored for this target after a restart) less a small overlap: a Relay merges nodes, so a lagging
 * node's flows can arrive slightly older than the newest seen. It drops the boundary duplicates
 * it can recognise cheaply (flows at exactly the newest instant it has seen); the rest of the
 * overlap is dropped by the sinks' window of recent flow ids (seeded from the store after a restart). Reconnects back off exponentially with jitter. LostEvents
 * are recorded with the window they fall in. The stream is paused while the sink is full.
 *
 * Responses are decoded by hand one level deep so the Flow's bytes are kept as received (Kafka
 * carries them without a re-encode). The call itself runs over node:http2 (grpc-stream.ts), read
 * on a thread of its own (grpc-reader-thread.ts) so a busy event loop does not leave Hubble's
 * ring to overwrite what we have not read.
 * @module
 */

import { errorMessage } from '../../../common/errors.ts';
import { nowNs, nsToTimestamp, timestampToNs } from '../../../common/flow/model.ts';
import type { Logger } from '../../../common/logger.ts';
import type { Metrics } from '../../../common/metrics.ts';
import { backoffDelay, sleep } from '../../../common/retry.ts';
import { wireFlow } from '../../../common/schema/flow-wire.ts';
import { type LostEvent, LostEvent as LostEventCodec } from '../../../proto/gen/flow/flow.ts';
import { Timestamp } from '../../../proto/gen/google/protobuf/timestamp.ts';
import { GetFlowsRequest } from '../../../proto/gen/observer/observer.ts';
import { NodeStatusEvent } from '../../../proto/gen/relay/relay.ts';
import type { FlowIntake } from '../pipeline.ts';
import { turnCounter } from '../turn-counter.ts';
import { createGrpcReaderThread } from './grpc-reader-thread.ts';
import { type GrpcStream, openGrpcStream } from './grpc-stream.ts';
import type { HubbleTlsConfig } from './hubble-target.ts';

/** A GetFlowsResponse with the Flow's original bytes kept. */
interface RawFlowsResponse {
  flowBytes?: Uint8Array;
  lost?: LostEvent;
  nodeStatus?: boolean;
  nodeName: string;
  /**
   * Where `time`'s bytes (a Timestamp message) lie in `data`, decoded only when needed
   * (`timeEnd` 0: absent). Offsets rather than a view: a view per response was garbage per flow.
   */
  timeStart: number;
  timeEnd: number;
  /** The buffer the response lies in (the gRPC batch, not the response alone: offsets index it). */
  data: Uint8Array;
}

/** A varint that fits 32 bits (tags and lengths) at `r.pos`; longer ones are an error. */
function varint32(buf: Uint8Array, r: { pos: number }): number {
  let v = 0;
  for (let shift = 0; shift < 35; shift += 7) {
    const b = buf[r.pos++];
    if (b === undefined) throw new RangeError('premature EOF');
    v += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) return v;
  }
  throw new RangeError('varint too long for a tag or length');
}

const scratchResponse: RawFlowsResponse = {
  nodeName: '',
  timeStart: 0,
  timeEnd: 0,
  data: new Uint8Array(0),
};
const cursor = { pos: 0 };
const utf8 = new TextDecoder();

/** The last node name read, as bytes and as a string: a Relay's responses come in runs per node. */
let lastNodeBytes = new Uint8Array(0);
let lastNodeName = '';

/** The node name at `start..end`, the string of the previous response when the bytes are the same. */
function nodeNameOf(buf: Uint8Array, start: number, end: number): string {
  const n = end - start;
  if (n === lastNodeBytes.length) {
    let same = true;
    for (let i = 0; i < n; i++) {
      if (buf[start + i] !== lastNodeBytes[i]) {
        same = false;
        break;
      }
    }
    if (same) return lastNodeName;
  }
  // A copy: a view would keep the reader's whole batch of messages alive.
  lastNodeBytes = new Uint8Array(n);
  lastNodeBytes.set(buf.subarray(start, end));
  lastNodeName = Buffer.isBuffer(buf)
    ? buf.toString('utf8', start, end)
    : utf8.decode(buf.subarray(start, end));
  return lastNodeName;
}

/**
 * Decodes the GetFlowsResponse at `buf[from..to)` (flow = 1, node_status = 2, lost_events = 3,
 * node_name = 1000, time = 1001) by hand, one level deep: the Flow and the time stay bytes (the
 * Flow a view, no copy). Returns one reused object, valid until the next call.
 */
export function decodeRawFlowsResponse(buf: Uint8Array, from = 0, to = buf.length): RawFlowsResponse {
  const out = scratchResponse;
  out.flowBytes = undefined;
  out.lost = undefined;
  out.nodeStatus = undefined;
  out.nodeName = '';
  out.timeStart = out.timeEnd = 0;
  out.data = buf;
  const r = cursor;
  r.pos = from;
  const len = to;
  while (r.pos < len) {
    const tag = varint32(buf, r);
    const wireType = tag & 7;
    if (wireType === 2) {
      const n = varint32(buf, r);
      const start = r.pos;
      const end = start + n;
      if (end > len) throw new RangeError('premature EOF');
      r.pos = end;
      switch (tag >>> 3) {
        case 1:
          out.flowBytes = buf.subarray(start, end);
          break;
        case 2:
          NodeStatusEvent.decode(buf.subarray(start, end));
          out.nodeStatus = true;
          break;
        case 3:
          out.lost = LostEventCodec.decode(buf.subarray(start, end));
          break;
        case 1000:
          out.nodeName = nodeNameOf(buf, start, end);
          break;
        case 1001:
          out.timeStart = start;
          out.timeEnd = end;
          break;
      }
    } else if (wireType === 0) varint64Skip(buf, r);
    else if (wireType === 1) r.pos += 8;
    else if (wireType === 5) r.pos += 4;
    else throw new Error(`cant skip wire type ${wireType}`);
    if (r.pos > len) throw new RangeError('premature EOF');
  }
  return out;
}

function varint64Skip(buf: Uint8Array, r: { pos: number }): void {
  for (let i = 0; i < 10; i++) if ((buf[r.pos++] ?? 0) < 0x80) return;
  throw new RangeError('varint longer than 10 bytes');
}

/** The response's time in ns, if it carries one. */
function responseTimeNs(res: RawFlowsResponse): bigint | undefined {
  return res.timeEnd > 0
    ? timestampToNs(Timestamp.decode(res.data.subarray(res.timeStart, res.timeEnd)))
    : undefined;
}

let receivedMs = 0;
let receivedNs = 0n;
/** Now in ns (nowNs), the BigInt made once per millisecond rather than once per flow. */
function receivedNow(): bigint {
  const ms = Date.now();
  if (ms !== receivedMs) {
    receivedMs = ms;
    receivedNs = BigInt(ms) * 1_000_000n;
  }
  return receivedNs;
}

function sameId(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < 16; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Where a target stands, for /api status and logs. */
export interface TargetStatus {
  target: string;
  state: 'connecting' | 'connected' | 'backoff' | 'stopped';
  connectedSince?: string;
  lastError?: string;
  reconnects: number;
  /** Messages read from the network, counted by the reader thread even while this event loop is busy. */
  received: number;
  flows: number;
  lostEvents: number;
  boundaryDuplicates: number;
  /** Newest flow time received, RFC 3339. */
  lastFlowTime?: string;
}

export interface HubbleSourceConfig {
  target: string;
  tls?: HubbleTlsConfig;
  /** Resume point after a process restart (newest stored flow time for this target), ns. */
  initialSinceNs?: bigint;
  /** How far before the resume point to ask again, ms (a Relay's cross-node reordering). Default 5,000. */
  resumeOverlapMs?: number;
  /** Reconnect backoff bounds in ms. */
  backoffInitialMs: number;
  backoffMaxMs: number;
  /**
   * Read the stream on a thread of its own (default true); false reads it on the event loop, which
   * a busy API can stall long enough for Hubble's ring to overwrite unread flows.
   */
  readInThread?: boolean;
}

export interface HubbleSourceDeps {
  intake: FlowIntake;
  logger: Logger;
  metrics: Metrics;
}

/** A running connection to one Hubble target. */
export interface HubbleSource {
  start(): void;
  stop(): Promise<void>;
  status(): TargetStatus;
}

const MAX_UINT64 = 18446744073709551615n;

/** How far before its newest flow a source resumes by default (a Relay's lagging nodes), ms. */
export const resumeOverlapMs = 5_000;

/** Creates the source for one target; `start()` connects. */
export function createHubbleSource(config: HubbleSourceConfig, deps: HubbleSourceDeps): HubbleSource {
  const { intake, logger } = deps;
  const target = config.target;
  const log = logger.child('hubble').child(target);
  const m = {
    flows: deps.metrics.counter('hubble_flows_total', 'Flows received from Hubble', ['target']),
    reconnects: deps.metrics.counter('hubble_reconnects_total', 'Reconnects to Hubble', ['target']),
    connected: deps.metrics.gauge('hubble_connected', '1 while connected to the target', ['target']),
    lost: deps.metrics.counter('hubble_lost_events_total', 'Events Hubble reported lost', ['target']),
    boundary: deps.metrics.counter('hubble_boundary_duplicates_total', 'Resume duplicates dropped', [
      'target',
    ]),
  };
  const status: TargetStatus = {
    target,
    state: 'stopped',
    reconnects: 0,
    received: 0,
    flows: 0,
    lostEvents: 0,
    boundaryDuplicates: 0,
  };
  let call: GrpcStream | undefined;
  let stopped = true;
  let loop: Promise<void> | undefined;
  const abort = new AbortController();
  // Newest flow time received and the ids of the flows at exactly that time (resume boundary).
  let lastNs: bigint | undefined = config.initialSinceNs;
  // Ids of the flows at exactly `lastNs` (usually one), the first `atLastCount` of `atLast`. A count
  // rather than `length = 0`: V8 frees an emptied array's storage, and the next push allocated a new
  // one (~120 B per flow, heap sampling).
  const atLast: Uint8Array[] = [];
  let atLastCount = 0;
  const seenAtLast = (id: Uint8Array): boolean => {
    for (let i = 0; i < atLastCount; i++) if (sameId(atLast[i]!, id)) return true;
    return false;
  };
  const addAtLast = (id: Uint8Array): void => {
    if (atLastCount < atLast.length) atLast[atLastCount] = id;
    else atLast.push(id);
    atLastCount++;
  };
  let boundaryPending = config.initialSinceNs !== undefined;
  const overlapNs = BigInt(config.resumeOverlapMs ?? resumeOverlapMs) * 1_000_000n;
  // Label lookups once, not per flow.
  const flowsCounter = turnCounter(m.flows.labels(target));
  const boundaryCounter = m.boundary.labels(target);

  const request = (): Uint8Array =>
    GetFlowsRequest.encode(
      GetFlowsRequest.fromPartial({
        follow: true,
        ...(lastNs !== undefined ? { since: nsToTimestamp(lastNs - overlapNs) } : { number: MAX_UINT64 }),
      }),
    ).finish();

  // The response being handled, for a flow without a time of its own (no closure per flow).
  let current: RawFlowsResponse | undefined;
  const fallbackTime = () => (current && responseTimeNs(current)) ?? nowNs();

  const handle = (res: RawFlowsResponse): boolean => {
    if (res.lost) {
      status.lostEvents++;
      m.lost.inc({ target }, Number(res.lost.num_events_lost));
      intake.lost({
        target,
        nodeName: res.nodeName,
        event: res.lost,
        timeNs: responseTimeNs(res) ?? nowNs(),
        windowStartNs: lastNs ?? 0n,
      });
      return true;
    }
    if (!res.flowBytes) return true;
    // No Flow object: one walk of the bytes, which the row encoder reuses (or, for a sink passing
    // the bytes on, a read of the few fields this source needs).
    current = res;
    const flow = wireFlow(res.flowBytes, res.nodeName, target, receivedNow(), fallbackTime, intake.walk);
    const timeNs = flow.timeNs;
    const flowId = flow.flowId;
    if (lastNs === undefined || timeNs > lastNs) {
      lastNs = timeNs;
      boundaryPending = false;
      atLastCount = 0;
      addAtLast(flowId);
    } else if (timeNs === lastNs) {
      // After a resume Hubble repeats the flows at exactly the resume point: drop those we have.
      if (boundaryPending && seenAtLast(flowId)) {
        status.boundaryDuplicates++;
        boundaryCounter.inc();
        return true;
      }
      addAtLast(flowId);
    }
    status.flows++;
    flowsCounter.inc();
    return intake.accept(flow);
  };

  const connected = () => {
    if (status.state === 'connected') return;
    status.state = 'connected';
    status.connectedSince = new Date().toISOString();
    m.connected.set({ target }, 1);
    log.info('connected', { since: lastNs?.toString() });
  };

  const reader = config.readInThread === false ? undefined : createGrpcReaderThread();
  const openStream = reader ? reader.open : openGrpcStream;

  /** One GetFlows call, until the server ends it or it fails. */
  const runOnce = () =>
    new Promise<void>((resolve, reject) => {
      status.state = 'connecting';
      const stream = openStream(
        { target, tls: config.tls, path: '/observer.Observer/GetFlows', request: request() },
        {
          onMessage(data, start, end) {
            connected();
            try {
              if (handle(decodeRawFlowsResponse(data, start, end))) return true;
            } catch (err) {
              log.warn('undecodable response skipped', { error: errorMessage(err) });
              return true;
            }
            intake.drained().then(() => stream.resume());
            return false;
          },
          onEnd: (err) => (err ? reject(err) : resolve()),
        },
      );
      call = stream;
    });

  const run = async () => {
    let attempt = 0;
    while (!stopped) {
      const flowsBefore = status.flows;
      try {
        await runOnce();
        if (!stopped) status.lastError = 'stream ended by server';
      } catch (err) {
        if (stopped) break;
        status.lastError = errorMessage(err);
      } finally {
        m.connected.set({ target }, 0);
      }
      if (stopped) break;
      // A connection that delivered flows resets the backoff.
      attempt = status.flows > flowsBefore ? 1 : attempt + 1;
      boundaryPending = lastNs !== undefined;
      const delay = backoffDelay(attempt, {
        initialDelayMs: config.backoffInitialMs,
        maxDelayMs: config.backoffMaxMs,
      });
      status.state = 'backoff';
      status.reconnects++;
      m.reconnects.inc({ target });
      log.warn('disconnected, reconnecting', { error: status.lastError, delay_ms: delay, attempt });
      await sleep(delay, abort.signal).catch(() => {});
    }
    status.state = 'stopped';
  };

  return {
    start() {
      if (!stopped) return;
      stopped = false;
      loop = run();
    },
    async stop() {
      stopped = true;
      abort.abort();
      call?.cancel();
      await loop;
      await reader?.close();
    },
    status: () => ({
      ...status,
      received: reader ? reader.received : status.flows + status.lostEvents,
      lastFlowTime: lastNs !== undefined ? new Date(Number(lastNs / 1_000_000n)).toISOString() : undefined,
    }),
  };
}

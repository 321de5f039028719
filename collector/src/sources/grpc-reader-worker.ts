/**
 * The worker side of grpc-reader-thread.ts: runs GetFlows calls (grpc-stream.ts) on a thread of
 * its own, so the socket is read while the main event loop is busy (API queries, JSON rendering),
 * and posts the received messages in batches. It keeps reading until the messages the main thread
 * has not yet acknowledged reach `maxBufferedBytes`, then pauses the call (HTTP/2 flow control
 * then holds the server) until acknowledgements bring it under half of that.
 * @module
 */
import { parentPort, workerData } from 'node:worker_threads';
import { errorMessage } from '../../../common/errors.ts';
import { type GrpcStream, type GrpcStreamOptions, openGrpcStream } from './grpc-stream.ts';

/** Main thread → worker. */
export type ToReader =
  | { type: 'open'; id: number; opts: GrpcStreamOptions }
  | { type: 'ack'; id: number; bytes: number }
  | { type: 'cancel'; id: number };

/** Worker → main thread: a batch of messages (one buffer, with each message's length), or the end. */
export type FromReader =
  | { type: 'messages'; id: number; data: ArrayBuffer; lengths: Uint32Array }
  | { type: 'end'; id: number; error?: { message: string; retriable: boolean } };

/** What the main thread passes at start. */
export interface ReaderWorkerData {
  maxBufferedBytes: number;
  /** Int32 counters shared with the main thread: [0] messages received from the network. */
  counters: SharedArrayBuffer;
}

interface Call {
  stream?: GrpcStream;
  pending: Uint8Array[];
  pendingBytes: number;
  /** Posted and not yet acknowledged, plus pending. */
  outstanding: number;
  paused: boolean;
  flushQueued: boolean;
}

const port = parentPort;
if (!port) throw new Error('grpc-reader-worker runs as a worker thread');
const { maxBufferedBytes, counters } = workerData as ReaderWorkerData;
const received = new Int32Array(counters);
const calls = new Map<number, Call>();

const post = (msg: FromReader, transfer: ArrayBuffer[] = []) => port.postMessage(msg, transfer);

function flush(id: number, c: Call): void {
  c.flushQueued = false;
  if (c.pending.length === 0) return;
  const data = new Uint8Array(c.pendingBytes);
  const lengths = new Uint32Array(c.pending.length);
  let off = 0;
  for (let i = 0; i < c.pending.length; i++) {
    const m = c.pending[i]!;
    data.set(m, off);
    off += m.length;
    lengths[i] = m.length;
  }
  c.pending = [];
  c.pendingBytes = 0;
  post({ type: 'messages', id, data: data.buffer, lengths }, [data.buffer]);
}

port.on('message', (msg: ToReader) => {
  if (msg.type === 'open') {
    const id = msg.id;
    const c: Call = { pending: [], pendingBytes: 0, outstanding: 0, paused: false, flushQueued: false };
    calls.set(id, c);
    try {
      c.stream = open(id, c, msg.opts);
    } catch (err) {
      // A bad TLS file and the like: the same answer the call would give on the main thread.
      calls.delete(id);
      post({ type: 'end', id, error: { message: errorMessage(err), retriable: false } });
    }
  } else if (msg.type === 'ack') {
    const c = calls.get(msg.id);
    if (!c) return;
    c.outstanding -= msg.bytes;
    if (c.paused && c.outstanding < maxBufferedBytes / 2) {
      c.paused = false;
      c.stream?.resume();
    }
  } else {
    calls.get(msg.id)?.stream?.cancel();
    calls.delete(msg.id);
  }
});

function open(id: number, c: Call, opts: GrpcStreamOptions): GrpcStream {
  return openGrpcStream(opts, {
    onMessage(data, start, end) {
      Atomics.add(received, 0, 1);
      const m = data.subarray(start, end);
      c.pending.push(m);
      c.pendingBytes += m.length;
      c.outstanding += m.length;
      // One post per turn of this thread's loop: a DATA chunk's messages travel together.
      if (!c.flushQueued) {
        c.flushQueued = true;
        setImmediate(() => flush(id, c));
      }
      if (c.outstanding < maxBufferedBytes) return true;
      c.paused = true;
      return false;
    },
    onEnd(err) {
      flush(id, c);
      calls.delete(id);
      // The main thread rebuilds the SourceError, which names the target itself.
      const detail = err?.message.startsWith(`${err.source}: `)
        ? err.message.slice(err.source.length + 2)
        : err?.message;
      post({
        type: 'end',
        id,
        ...(err ? { error: { message: detail ?? '', retriable: err.retriable } } : {}),
      });
    },
  });
}

/**
 * GetFlows calls read on a thread of their own (grpc-reader-worker.ts), with the interface of
 * grpc-stream.ts. Why: Hubble keeps a ring of a few thousand events per node and overwrites what
 * a client has not read. Read on the main thread, the socket waits whenever the event loop is
 * busy (a flood of API queries, a large JSON answer), and a stall of a few seconds loses flows.
 * On its own thread the socket is drained continuously into memory, up to `maxBufferedBytes`
 * not yet handled here; beyond that the call pauses and Hubble's flow control takes over, as
 * when the sink is full. Handling on this side is capped per turn of the event loop, so a
 * backlog after a stall does not become a stall of its own.
 * @module
 */
import { Worker } from 'node:worker_threads';
import { SourceError } from '../../../common/errors.ts';
import type { FromReader, ReaderWorkerData, ToReader } from './grpc-reader-worker.ts';
import type { GrpcStream, GrpcStreamHandlers, GrpcStreamOptions } from './grpc-stream.ts';

/** Reader-thread tuning. */
export interface GrpcReaderThreadOptions {
  /**
   * Received bytes not yet handled on this thread before the call pauses. Default 16 MiB: ~28,000
   * flows of ~600 B, over three of Hubble's default 8,192-event rings, which is what a stall must
   * absorb before Hubble's own flow control holds the rest; each MiB more is resident memory
   * (once on the reader's side, once on this one) for as long as the process runs.
   */
  maxBufferedBytes?: number;
  /** Messages handled per turn of the event loop before yielding. Default 2,048. */
  messagesPerTurn?: number;
  /**
   * The reader thread's young generation (V8 `maxYoungGenerationSizeMb`). Default 4. The thread
   * allocates a copy of every message it reads; with V8's default (semi-spaces up to 16 MB) its heap
   * grew with the rate. The thread alone at full rate (1.5M frames from the bench's frame server, main
   * thread discarding them, three interleaved pairs under load ~11): +59–77 MB resident by default,
   * +37–48 MB at 4, CPU per message 0.85–1.05 µs against 0.89–1.06.
   */
  youngGenerationMb?: number;
}

/** A reader thread: opens calls like openGrpcStream; `close()` ends the thread. */
export interface GrpcReaderThread {
  open(opts: GrpcStreamOptions, handlers: GrpcStreamHandlers): GrpcStream;
  /** Messages the thread has received from the network so far (read without this event loop). */
  readonly received: number;
  close(): Promise<void>;
}

interface Open {
  handlers: GrpcStreamHandlers;
  target: string;
  batches: { data: Buffer; lengths: Uint32Array; i: number; off: number }[];
  paused: boolean;
  ended: boolean;
  end?: { error?: { message: string; retriable: boolean } };
  scheduled: boolean;
}

/**
 * The worker runs as plain JavaScript, bundled into a cache (common/js-bundle.js, itself plain
 * JavaScript, so the thread builds or finds it without tsx): a thread that loads tsx also starts
 * tsx's module-hooks thread, a V8 heap of its own (+18 MB resident against +3 MB). If no bundle can
 * be built, it loads the TypeScript through tsx as before. `execArgv: []`, or a process started with
 * `--import tsx/esm` would have the worker load tsx all the same.
 */
const bootstrap = `const { workerData } = require('node:worker_threads');
const { pathToFileURL } = require('node:url');
const viaTsx = () => import(workerData.tsx).then((m) => { m.register(); return import(workerData.entry); });
import(workerData.bundler)
  .then((b) => b.bundledEntry(new URL(workerData.entry)))
  .then((bundle) => import(pathToFileURL(bundle).href), viaTsx);`;

/** Starts a reader thread (lazily, at the first call). */
export function createGrpcReaderThread(options: GrpcReaderThreadOptions = {}): GrpcReaderThread {
  const maxBufferedBytes = options.maxBufferedBytes ?? 16 << 20;
  const perTurn = options.messagesPerTurn ?? 2048;
  const youngGenerationMb = options.youngGenerationMb ?? 4;
  const counters = new SharedArrayBuffer(4);
  const received = new Int32Array(counters);
  const calls = new Map<number, Open>();
  let worker: Worker | undefined;
  let nextId = 1;

  const send = (msg: ToReader) => worker?.postMessage(msg);

  const finish = (call: Open, error?: SourceError) => {
    if (call.ended) return;
    call.ended = true;
    call.handlers.onEnd(error);
  };

  /** Hands queued messages to the handlers until paused, out of messages, or the turn's cap. */
  const deliver = (id: number, call: Open) => {
    call.scheduled = false;
    let handled = 0;
    let bytes = 0;
    while (!call.paused && !call.ended && call.batches.length > 0 && handled < perTurn) {
      const b = call.batches[0]!;
      const len = b.lengths[b.i]!;
      const start = b.off;
      b.i++;
      b.off += len;
      if (b.i === b.lengths.length) call.batches.shift();
      handled++;
      bytes += len;
      if (!call.handlers.onMessage(b.data, start, start + len)) call.paused = true;
    }
    if (bytes > 0) send({ type: 'ack', id, bytes });
    if (call.paused || call.ended) return;
    if (call.batches.length > 0) schedule(id, call);
    else if (call.end) {
      calls.delete(id);
      const e = call.end.error;
      finish(call, e ? new SourceError(call.target, e.message, { retriable: e.retriable }) : undefined);
    }
  };
  const schedule = (id: number, call: Open) => {
    if (call.scheduled) return;
    call.scheduled = true;
    setImmediate(() => deliver(id, call));
  };

  const start = (): Worker => {
    const data: ReaderWorkerData = { maxBufferedBytes, counters };
    const w = new Worker(bootstrap, {
      eval: true,
      execArgv: [],
      resourceLimits: { maxYoungGenerationSizeMb: youngGenerationMb },
      workerData: {
        ...data,
        bundler: new URL('../../../common/js-bundle.js', import.meta.url).href,
        tsx: import.meta.resolve('tsx/esm/api'),
        entry: new URL('./grpc-reader-worker.ts', import.meta.url).href,
      },
    });
    // A forgotten close() must not keep the process alive; a running collector has other handles.
    w.unref();
    w.on('message', (msg: FromReader) => {
      const call = calls.get(msg.id);
      if (!call || call.ended) return;
      if (msg.type === 'messages') {
        // A Buffer view (no copy): the messages cut from it are Buffers, which the Flow walks read as they are.
        call.batches.push({ data: Buffer.from(msg.data), lengths: msg.lengths, i: 0, off: 0 });
      } else {
        call.end = msg.error ? { error: msg.error } : {};
      }
      schedule(msg.id, call);
    });
    const lost = (why: string) => {
      if (worker === w) worker = undefined;
      for (const [id, call] of calls) {
        calls.delete(id);
        finish(call, new SourceError(call.target, `reader thread ${why}`, { retriable: true }));
      }
    };
    w.on('error', (err) => lost(`failed: ${err.message}`));
    w.on('exit', (code) => lost(`exited (${code})`));
    return w;
  };

  return {
    open(opts, handlers) {
      worker ??= start();
      const id = nextId++;
      const call: Open = {
        handlers,
        target: opts.target,
        batches: [],
        paused: false,
        ended: false,
        scheduled: false,
      };
      calls.set(id, call);
      send({ type: 'open', id, opts });
      return {
        resume() {
          if (!call.paused || call.ended) return;
          call.paused = false;
          schedule(id, call);
        },
        cancel() {
          if (call.ended) return;
          send({ type: 'cancel', id });
          calls.delete(id);
          finish(call, new SourceError(opts.target, 'cancelled', { retriable: false }));
        },
      };
    },
    get received() {
      return Atomics.load(received, 0);
    },
    async close() {
      const w = worker;
      worker = undefined;
      for (const [id, call] of calls) {
        calls.delete(id);
        finish(call, new SourceError(call.target, 'cancelled', { retriable: false }));
      }
      await w?.terminate();
    },
  };
}

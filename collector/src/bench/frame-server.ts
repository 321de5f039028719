/**
 * The Hubble side of `flowtrail bench`: an `Observer.GetFlows` server over a real HTTP/2 gRPC
 * connection that serves frames encoded before the clock starts, so a benchmark measures the
 * collector and storage, not the generator (a real Relay runs on other machines).
 *
 * It encodes `distinct` generator responses once; serving copies them (once) into large DATA chunks and
 * rewrites the last 12 hex digits of each flow's uuid with a running counter, so every flow
 * served has its own id (the collector's dedup window would otherwise drop a repeated frame).
 * Flow times repeat from one cycle to the next, which nothing on the ingest path minds.
 *
 * Run as a child process (`startFrameServer`), as Hubble would be: it prints
 * `listening on HOST:PORT` on stdout.
 * @module
 */
import { spawn } from 'node:child_process';
import http2 from 'node:http2';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { GetFlowsResponse } from '../../../proto/gen/observer/observer.ts';
import { createGenerator } from '../generator/generator.ts';

/** Pre-encoded gRPC messages (5-byte prefix + GetFlowsResponse) and where each uuid's last 12 digits sit. */
export interface EncodedFrames {
  frames: Buffer[];
  /** Offset of the 12 patchable uuid digits in each frame (-1 when the flow has no uuid). */
  uuidTail: number[];
}

/** Encodes `distinct` generator flows as gRPC messages. */
export function encodeFrames(distinct: number, seed = 42): EncodedFrames {
  const gen = createGenerator({ seed });
  const frames: Buffer[] = [];
  const uuidTail: number[] = [];
  while (frames.length < distinct) {
    for (const ev of gen.take(Math.min(10_000, distinct - frames.length))) {
      if (ev.kind !== 'flow' || !ev.response.flow) continue;
      const body = GetFlowsResponse.encode(ev.response).finish();
      const frame = Buffer.allocUnsafe(5 + body.length);
      frame[0] = 0;
      frame.writeUInt32BE(body.length, 1);
      frame.set(body, 5);
      const uuid = ev.response.flow.uuid;
      const at = uuid.length === 36 ? frame.indexOf(uuid, 5, 'latin1') : -1;
      frames.push(frame);
      uuidTail.push(at < 0 ? -1 : at + 24);
    }
  }
  return { frames, uuidTail };
}

const hex = '0123456789abcdef';

/** Writes `n` as 12 lower-case hex digits at `at`. */
function writeCounter(buf: Buffer, at: number, n: number): void {
  for (let i = 11; i >= 0; i--) {
    buf[at + i] = hex.charCodeAt(n % 16);
    n = Math.floor(n / 16);
  }
}

/** Serves `frames` on `listen` (host:port) until closed; resolves with the bound address. */
export async function serveFrames(
  encoded: EncodedFrames,
  listen: string,
  limit = Number.POSITIVE_INFINITY,
): Promise<{ address: string; close(): void }> {
  const { frames, uuidTail } = encoded;
  let counter = 0;
  /** Frames served so far, over every call: at `limit` the call in progress ends. */
  let served = 0;
  let next = 0;
  const server = http2.createServer();
  server.on('stream', (stream, headers) => {
    if (headers[':path'] !== '/observer.Observer/GetFlows') {
      stream.respond(
        { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '12' },
        { endStream: true },
      );
      return;
    }
    // Ended (at `limit`) as a gRPC call ends well: with a status in the trailers.
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    const pump = () => {
      while (!stream.destroyed) {
        if (served >= limit) {
          stream.end();
          return;
        }
        // A chunk of its own each time: the stream keeps it until written, so it is not reused.
        const chunk = Buffer.allocUnsafe(256 << 10);
        let len = 0;
        for (; served < limit; served++) {
          const f = frames[next]!;
          if (len + f.length > chunk.length) break;
          f.copy(chunk, len);
          const at = uuidTail[next]!;
          if (at >= 0) writeCounter(chunk, len + at, counter++);
          len += f.length;
          next = (next + 1) % frames.length;
        }
        if (!stream.write(chunk.subarray(0, len))) {
          stream.once('drain', pump);
          return;
        }
      }
    };
    stream.on('error', () => {});
    // The request message is read and ignored: every call follows from the start.
    stream.resume();
    pump();
  });
  const [host, port] = [
    listen.slice(0, listen.lastIndexOf(':')),
    Number(listen.slice(listen.lastIndexOf(':') + 1)),
  ];
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  const addr = server.address();
  const address = typeof addr === 'object' && addr ? `${host}:${addr.port}` : listen;
  return { address, close: () => server.close() };
}

/**
 * Starts the frame server in a child process; resolves with its address. With `limit`, it serves that
 * many frames in all, then ends the call (the end-to-end bench moves exactly N flows).
 */
export async function startFrameServer(
  distinct = 50_000,
  limit?: number,
): Promise<{ address: string; stop(): void }> {
  const self = fileURLToPath(import.meta.url);
  // The child loads this module through tsx, as bin/flowtrail.js loads the CLI.
  const child = spawn(process.execPath, ['--import', 'tsx/esm', self, String(distinct), String(limit ?? 0)], {
    cwd: path.resolve(path.dirname(self), '../../..'),
    // Its stdin is a pipe from this process: when this process goes, however it goes, the pipe
    // ends and so does the server (a bench killed midway leaves no server behind).
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const address = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /listening on (\S+)/.exec(out);
      if (m?.[1]) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`frame server exited with ${code}: ${out}`)));
  });
  return { address, stop: () => child.kill('SIGKILL') };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const encoded = encodeFrames(Number(process.argv[2] ?? 50_000));
  const { address } = await serveFrames(
    encoded,
    '127.0.0.1:0',
    Number(process.argv[3] ?? 0) || Number.POSITIVE_INFINITY,
  );
  process.stdout.write(`listening on ${address}\n`);
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
}

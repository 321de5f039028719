/**
 * A gRPC server-streaming call over node:http2, for the one hot RPC the collector makes
 * (`Observer.GetFlows`). grpc-js spends several microseconds per received message (an event,
 * a deserializer call, status bookkeeping); here a DATA chunk carrying hundreds of flows is cut
 * into messages in one loop, which doubles what one core can take in. Everything else (the
 * Nomad client, the servers) stays on grpc-js.
 *
 * Wire shape (gRPC over HTTP/2): request headers `:method POST`, `:path /pkg.Service/Method`,
 * `content-type: application/grpc`, `te: trailers`; each message is a 1-byte compressed flag, a
 * 4-byte big-endian length and the protobuf bytes; the status arrives as `grpc-status` /
 * `grpc-message` in the trailers (or in the headers of a trailers-only response).
 * @module
 */
import { readFileSync } from 'node:fs';
import http2 from 'node:http2';
import net from 'node:net';
import { ConfigError, SourceError } from '../../../common/errors.ts';
import type { HubbleTlsConfig } from './hubble-target.ts';

/** What to call and how to reach it. */
export interface GrpcStreamOptions {
  /** `host:port`, `[v6]:port` or `unix:/path`. */
  target: string;
  tls?: HubbleTlsConfig;
  /** Full method path, e.g. `/observer.Observer/GetFlows`. */
  path: string;
  /** The encoded request message. */
  request: Uint8Array;
  /** Extra request metadata (lowercase keys). */
  metadata?: Record<string, string>;
  /** HTTP/2 receive window, bytes. Default 1 MiB. */
  windowBytes?: number;
  /** Ping interval to notice a dead peer, ms. Default 30,000. */
  keepaliveMs?: number;
}

/** Callbacks of one call. `onMessage` returning false pauses the stream until `resume()`. */
export interface GrpcStreamHandlers {
  /**
   * One message: `data[start..end)`, valid during the call (a view cut from it may be kept). A range
   * rather than a view of its own: at full rate a view per message was garbage per flow.
   */
  onMessage(data: Buffer, start: number, end: number): boolean;
  /** Called once: undefined for a clean end (grpc-status 0), else the error. */
  onEnd(error?: SourceError): void;
}

/** A running call. */
export interface GrpcStream {
  resume(): void;
  cancel(): void;
}

/** gRPC status codes worth naming in errors. */
const statusNames: Record<number, string> = {
  1: 'CANCELLED',
  2: 'UNKNOWN',
  3: 'INVALID_ARGUMENT',
  4: 'DEADLINE_EXCEEDED',
  5: 'NOT_FOUND',
  7: 'PERMISSION_DENIED',
  8: 'RESOURCE_EXHAUSTED',
  12: 'UNIMPLEMENTED',
  13: 'INTERNAL',
  14: 'UNAVAILABLE',
  16: 'UNAUTHENTICATED',
};

function authority(target: string): { url: string; unixPath?: string } {
  if (target.startsWith('unix:'))
    return { url: 'http://localhost', unixPath: target.slice(5).replace(/^\/\//, '') };
  return { url: `http://${target}` };
}

function readPem(path: string | undefined, what: string): Buffer | undefined {
  if (!path) return undefined;
  try {
    return readFileSync(path);
  } catch (err) {
    throw new ConfigError(`cannot read ${what} ${path}: ${(err as Error).message}`);
  }
}

/** Largest message accepted (Hubble flows are a few KiB); a bigger length prefix means garbage. */
const MAX_MESSAGE_BYTES = 16 << 20;

/** grpc-message is percent-encoded; a server that sends a bare '%' still gets its text shown. */
function percentDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Opens the call; messages and the end are reported through `handlers`. */
export function openGrpcStream(opts: GrpcStreamOptions, handlers: GrpcStreamHandlers): GrpcStream {
  const { url, unixPath } = authority(opts.target);
  const tls = opts.tls;
  const settings = { initialWindowSize: opts.windowBytes ?? 1 << 20 };
  const session = tls
    ? http2.connect(url.replace('http://', 'https://'), {
        settings,
        ca: readPem(tls.ca, 'HUBBLE_TLS_CA'),
        cert: readPem(tls.cert, 'HUBBLE_TLS_CERT'),
        key: readPem(tls.key, 'HUBBLE_TLS_KEY'),
        servername: tls.serverName,
        ALPNProtocols: ['h2'],
        ...(unixPath ? { path: unixPath } : {}),
      })
    : http2.connect(url, {
        settings,
        ...(unixPath ? { createConnection: () => net.connect(unixPath) } : {}),
      });
  // The connection window matters as much as the stream's: raise it once connected.
  session.once('connect', () => session.setLocalWindowSize(opts.windowBytes ?? 1 << 20));

  let ended = false;
  let paused = false;
  let carry: Buffer | undefined;
  let status: { code: number; message: string } | undefined;
  const end = (error?: SourceError) => {
    if (ended) return;
    ended = true;
    clearInterval(keepalive);
    if (!session.destroyed) session.destroy();
    handlers.onEnd(error);
  };
  const fail = (message: string, retriable = true) =>
    end(new SourceError(opts.target, message, { retriable }));

  const keepalive = setInterval(() => {
    if (session.destroyed) return;
    // A half-open peer never answers: no pong within the interval ends the call.
    const deadline = setTimeout(() => fail('keepalive ping timed out'), opts.keepaliveMs ?? 30_000);
    deadline.unref();
    session.ping((err) => {
      clearTimeout(deadline);
      if (err) fail(`keepalive ping failed: ${err.message}`);
    });
  }, opts.keepaliveMs ?? 30_000);
  keepalive.unref();

  session.on('error', (err) => fail(err.message));
  session.on('goaway', () => {
    if (!ended && !status) fail('server sent GOAWAY');
  });

  const req = session.request({
    ':method': 'POST',
    ':path': opts.path,
    'content-type': 'application/grpc',
    te: 'trailers',
    ...opts.metadata,
  });
  const framed = Buffer.allocUnsafe(5 + opts.request.length);
  framed[0] = 0;
  framed.writeUInt32BE(opts.request.length, 1);
  framed.set(opts.request, 5);
  req.end(framed);

  const takeStatus = (headers: http2.IncomingHttpHeaders) => {
    const code = headers['grpc-status'];
    if (code === undefined) return;
    const raw = headers['grpc-message'];
    status = { code: Number(code), message: typeof raw === 'string' ? percentDecode(raw) : '' };
  };
  req.on('response', (headers) => {
    const httpStatus = Number(headers[':status']);
    const type = String(headers['content-type'] ?? '');
    if (httpStatus !== 200)
      return fail(`HTTP ${httpStatus} instead of a gRPC response (is this a Hubble gRPC port?)`);
    if (!type.startsWith('application/grpc')) return fail(`content-type ${type || 'missing'} is not gRPC`);
    takeStatus(headers);
  });
  req.on('trailers', takeStatus);

  /** Cuts complete messages out of the buffered bytes until done or paused. */
  const drain = () => {
    const buf = carry;
    if (!buf) return;
    let off = 0;
    while (!paused && buf.length - off >= 5) {
      if (buf[off] !== 0) return fail('received a compressed message, which was not negotiated', false);
      const len = buf.readUInt32BE(off + 1);
      if (len > MAX_MESSAGE_BYTES) return fail(`message of ${len} bytes exceeds ${MAX_MESSAGE_BYTES}`, false);
      if (buf.length - off - 5 < len) break;
      const start = off + 5;
      off = start + len;
      if (!handlers.onMessage(buf, start, off)) {
        paused = true;
        req.pause();
      }
    }
    carry = off < buf.length ? buf.subarray(off) : undefined;
  };
  req.on('data', (chunk: Buffer) => {
    carry = carry ? Buffer.concat([carry, chunk]) : chunk;
    drain();
  });
  req.on('end', () => {
    drain();
    if (carry && !paused) return fail('stream ended inside a message');
    if (paused) return; // finish after resume()
    finish();
  });
  req.on('error', (err) => fail(err.message));
  const finish = () => {
    if (!status) return fail('stream closed without a gRPC status');
    if (status.code === 0) return end();
    const name = statusNames[status.code] ?? `status ${status.code}`;
    // Bad requests and refused credentials won't improve by reconnecting at once, but a
    // restarted server might accept us later: keep them retriable with backoff.
    fail(`${name}: ${status.message}`, true);
  };

  return {
    resume() {
      if (!paused || ended) return;
      paused = false;
      drain();
      if (!paused) {
        if (req.readableEnded) finish();
        else req.resume();
      }
    },
    cancel() {
      if (ended) return;
      req.close(http2.constants.NGHTTP2_CANCEL);
      end(new SourceError(opts.target, 'cancelled', { retriable: false }));
    },
  };
}

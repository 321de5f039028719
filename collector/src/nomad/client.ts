/**
 * A thin typed client for the Nomad HTTP API endpoints attribution needs: allocations (list
 * across namespaces, read one), nodes, namespaces and jobs (with blocking queries), and the
 * `/v1/event/stream` NDJSON stream. There is no maintained npm client (reference/nomad-api.md §6).
 *
 * Wire facts it handles: errors are plain text; 403 `Permission denied`; an allocation in a
 * namespace the token cannot read answers 500 `Unknown allocation "<id>"`; int64 nanosecond
 * times are parsed exactly (json.ts); `X-Nomad-Index` drives blocking queries; the stream
 * sends `{}` heartbeats and may end with a raw, non-JSON error line.
 * @module
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { ConfigError, SourceError } from '../../../common/errors.ts';
import type { NomadConfig } from './config.ts';
import { parseNomadJson } from './json.ts';
import {
  big,
  type NomadAllocation,
  type NomadEventFrame,
  type NomadJob,
  type NomadNamespace,
  type NomadNode,
  toAllocation,
  toEventFrame,
  toJob,
  toNamespace,
  toNode,
} from './types.ts';

/** A Nomad API failure, with the HTTP status (0 for network errors) and whether a retry can help. */
export class NomadError extends SourceError {
  readonly status: number;
  readonly kind: 'denied' | 'unknown-allocation' | 'not-found' | 'bad-request' | 'server' | 'network';

  constructor(kind: NomadError['kind'], status: number, message: string, options: { cause?: unknown } = {}) {
    super('nomad', message, { retriable: kind === 'server' || kind === 'network', cause: options.cause });
    this.status = status;
    this.kind = kind;
  }
}

/** A blocking-query answer: the items and the `X-Nomad-Index` to block on next. */
export interface Indexed<T> {
  index: bigint;
  items: T;
}

/** Options of a blocking query: returns at once when `index` is 0 or absent. */
export interface BlockingOptions {
  index?: bigint;
  /** Wait in seconds; default from config. */
  waitSeconds?: number;
  signal?: AbortSignal;
}

/** Options of the event stream subscription. */
export interface EventStreamOptions {
  topics: readonly string[];
  /** `*` for every namespace existing at subscribe time. */
  namespace: string;
  /** Inclusive start index (pass last seen + 1). */
  index: bigint;
  signal?: AbortSignal;
}

/** The Nomad API as attribution uses it. */
export interface NomadClient {
  listAllocations(opts?: BlockingOptions & { namespace?: string }): Promise<Indexed<NomadAllocation[]>>;
  readAllocation(id: string, signal?: AbortSignal): Promise<NomadAllocation>;
  listNodes(opts?: BlockingOptions): Promise<Indexed<NomadNode[]>>;
  readNode(id: string, signal?: AbortSignal): Promise<NomadNode>;
  listNamespaces(opts?: BlockingOptions): Promise<Indexed<NomadNamespace[]>>;
  readJob(namespace: string, id: string, signal?: AbortSignal): Promise<NomadJob>;
  /** Yields frames (heartbeats included, index 0) until the server closes the stream or the signal aborts. */
  eventStream(opts: EventStreamOptions): AsyncIterable<NomadEventFrame>;
}

interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: http.IncomingMessage;
}

/** Creates a client; no I/O happens until a method is called. */
export function createNomadClient(config: NomadConfig): NomadClient {
  let base: URL;
  try {
    base = new URL(config.address);
  } catch (cause) {
    throw new ConfigError(`NOMAD_ADDR is not a URL: ${config.address}`, { cause });
  }
  let ca: Buffer | undefined;
  const agentOpts = () => {
    if (config.caCertFile && !ca) {
      try {
        ca = readFileSync(config.caCertFile);
      } catch (cause) {
        throw new ConfigError(`cannot read NOMAD_CACERT ${config.caCertFile}`, { cause });
      }
    }
    return ca ? { ca } : {};
  };

  function send(
    path: string,
    query: Record<string, string | string[] | undefined>,
    signal?: AbortSignal,
    timeoutMs?: number,
  ): Promise<RawResponse> {
    const url = new URL(path, base);
    for (const [k, v] of Object.entries(query)) {
      if (v === undefined) continue;
      for (const item of Array.isArray(v) ? v : [v]) url.searchParams.append(k, item);
    }
    if (config.region) url.searchParams.set('region', config.region);
    const mod = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = mod.request(
        url,
        {
          method: 'GET',
          headers: { accept: 'application/json', ...(config.token ? { 'x-nomad-token': config.token } : {}) },
          signal,
          ...(url.protocol === 'https:' ? agentOpts() : {}),
        },
        (res) => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res }),
      );
      if (timeoutMs) {
        req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      }
      req.on('error', (cause) =>
        reject(
          signal?.aborted
            ? cause
            : new NomadError('network', 0, `cannot reach ${url.origin}${url.pathname}: ${cause.message}`, {
                cause,
              }),
        ),
      );
      req.end();
    });
  }

  async function readBody(res: RawResponse): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const c of res.body) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }

  async function getJson(
    path: string,
    query: Record<string, string | undefined>,
    signal?: AbortSignal,
    blocking = false,
  ): Promise<{ index: bigint; body: unknown }> {
    const timeout = blocking ? (config.blockingWaitSeconds + 30) * 1000 : config.requestTimeoutMs;
    const res = await send(path, query, signal, timeout);
    const text = await readBody(res);
    if (res.status !== 200) throw errorFor(res.status, text.trim(), path);
    const index = big(String(res.headers['x-nomad-index'] ?? '0'));
    try {
      return { index, body: parseNomadJson(text) };
    } catch (cause) {
      throw new NomadError('server', res.status, `${path}: response is not JSON: ${text.slice(0, 120)}`, {
        cause,
      });
    }
  }

  const blockingQuery = (opts: BlockingOptions = {}) => ({
    index: opts.index && opts.index > 0n ? opts.index.toString() : undefined,
    wait: opts.index && opts.index > 0n ? `${opts.waitSeconds ?? config.blockingWaitSeconds}s` : undefined,
  });
  const list = (body: unknown): unknown[] => (Array.isArray(body) ? body : []);

  return {
    async listAllocations(opts = {}) {
      const r = await getJson(
        '/v1/allocations',
        { namespace: opts.namespace ?? '*', task_states: 'false', ...blockingQuery(opts) },
        opts.signal,
        true,
      );
      return { index: r.index, items: list(r.body).map(toAllocation) };
    },
    async readAllocation(id, signal) {
      const r = await getJson(`/v1/allocation/${encodeURIComponent(id)}`, { namespace: '*' }, signal);
      return toAllocation(r.body);
    },
    async listNodes(opts = {}) {
      const r = await getJson('/v1/nodes', blockingQuery(opts), opts.signal, true);
      return { index: r.index, items: list(r.body).map(toNode) };
    },
    async readNode(id, signal) {
      const r = await getJson(`/v1/node/${encodeURIComponent(id)}`, {}, signal);
      return toNode(r.body);
    },
    async listNamespaces(opts = {}) {
      const r = await getJson('/v1/namespaces', blockingQuery(opts), opts.signal, true);
      return { index: r.index, items: list(r.body).map(toNamespace) };
    },
    async readJob(namespace, id, signal) {
      const r = await getJson(`/v1/job/${encodeURIComponent(id)}`, { namespace }, signal);
      return toJob(r.body);
    },
    async *eventStream(opts) {
      const res = await send(
        '/v1/event/stream',
        { topic: [...opts.topics], namespace: opts.namespace, index: opts.index.toString() },
        opts.signal,
      );
      if (res.status !== 200) throw errorFor(res.status, (await readBody(res)).trim(), '/v1/event/stream');
      let buf = '';
      for await (const chunk of res.body) {
        buf += (chunk as Buffer).toString('utf8');
        let nl = buf.indexOf('\n');
        while (nl >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          nl = buf.indexOf('\n');
          if (!line) continue;
          yield parseFrame(line);
        }
      }
      const rest = buf.trim();
      if (rest) yield parseFrame(rest);
      throw new NomadError('network', 200, 'event stream closed by the server');
    },
  };
}

function parseFrame(line: string): NomadEventFrame {
  let raw: unknown;
  try {
    raw = parseNomadJson(line);
  } catch (cause) {
    // Nomad ≤1.11.1 writes a subscription error as raw text after the last frame.
    throw new NomadError('server', 200, `event stream ended: ${line.slice(0, 200)}`, { cause });
  }
  return toEventFrame(raw);
}

/** Turns a non-200 plain-text answer into a NomadError with an actionable message. */
export function errorFor(status: number, text: string, path: string): NomadError {
  if (status === 403) {
    return new NomadError(
      'denied',
      403,
      `${path}: ${text || 'Permission denied'} (403): NOMAD_TOKEN must allow read-job on every namespace (namespace "*") and node:read`,
    );
  }
  if (status === 500 && /^Unknown allocation/.test(text)) {
    return new NomadError(
      'unknown-allocation',
      500,
      `${path}: ${text}: the allocation does not exist or NOMAD_TOKEN may not read its namespace (Nomad answers the same for both)`,
    );
  }
  if (status === 404) return new NomadError('not-found', 404, `${path}: ${text || 'not found'}`);
  if (status === 400) return new NomadError('bad-request', 400, `${path}: ${text}`);
  return new NomadError('server', status, `${path}: HTTP ${status}: ${text.slice(0, 200)}`);
}

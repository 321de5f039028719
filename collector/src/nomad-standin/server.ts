/**
 * A Nomad HTTP API stand-in for tests and the demo, following the real wire format
 * (reference/nomad-api.md §7): sorted keys, `null` for nil, zero fields omitted on full
 * allocations, nanosecond integers, plain-text errors (403 `Permission denied`, 404
 * `alloc not found`, 500 `Unknown allocation "<id>"` for a forbidden namespace), `X-Nomad-Index`
 * with blocking queries (`?index=&wait=`, 300 s cap, wait/16 jitter), and `/v1/event/stream`
 * NDJSON with an immediate `{}` heartbeat, inclusive resume with silent fallback to the closest
 * buffered index, `namespace=*` frozen at subscribe time, and no deletion events.
 *
 * Fault injection for tests: `cutStreams()` drops every open event stream, `setDown(true)`
 * resets every connection as an unreachable agent would.
 * @module
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { encodeGo } from './encode.ts';
import {
  createStandinState,
  type GoObject,
  type StandinEvent,
  type StandinFrame,
  type StandinState,
  type StandinStateOptions,
  type Table,
} from './state.ts';

/** Stand-in options. */
export interface NomadStandinOptions {
  /** Share a state (e.g. with a scenario); default: a new one. */
  state?: StandinState;
  stateOptions?: StandinStateOptions;
  /** ACL tokens: secret → readable namespaces (`'*'` for management). Empty: ACLs off. */
  tokens?: Record<string, { namespaces: readonly string[] | '*' }>;
  /** Heartbeat period of the event stream in milliseconds. Default 30000 (Nomad's). */
  heartbeatMs?: number;
}

/** A running stand-in. */
export interface NomadStandin {
  readonly state: StandinState;
  /** Starts listening; resolves to the base URL (e.g. `http://127.0.0.1:4646`). */
  listen(port?: number, host?: string): Promise<string>;
  close(): Promise<void>;
  /** Drops every open event stream; returns how many were cut. */
  cutStreams(): number;
  /** While down, every connection is reset (the agent is unreachable). */
  setDown(down: boolean): void;
  /** Open event streams. */
  readonly streams: number;
  /** Connections reset because the stand-in was down (tests wait on it to know an outage was felt). */
  readonly refused: number;
}

class HttpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

const durationUnits: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** Parses a Go duration such as `10s`, `5m` or `1m30s` into milliseconds. */
export function parseGoDuration(s: string): number | undefined {
  if (!/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(s)) return undefined;
  let ms = 0;
  for (const m of s.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g))
    ms += Number(m[1]) * durationUnits[m[2]!]!;
  return ms;
}

/** Creates a stand-in (no socket until listen()). */
export function createNomadStandin(opts: NomadStandinOptions = {}): NomadStandin {
  const state = opts.state ?? createStandinState(opts.stateOptions);
  const heartbeatMs = opts.heartbeatMs ?? 30_000;
  const tokens = opts.tokens ?? {};
  const aclOn = Object.keys(tokens).length > 0;
  const streams = new Set<http.ServerResponse>();
  let down = false;
  let refused = 0;

  const server = http.createServer((req, res) => {
    if (down) {
      refused++;
      req.socket.destroy();
      return;
    }
    handle(req, res).catch((err: unknown) => {
      const status = err instanceof HttpError ? err.status : 500;
      const text = err instanceof Error ? err.message : String(err);
      if (res.headersSent) {
        res.end();
        return;
      }
      res.writeHead(status, { 'content-type': 'text/plain' }).end(text);
    });
  });

  function token(req: http.IncomingMessage): string {
    const x = req.headers['x-nomad-token'];
    if (typeof x === 'string' && x.trim()) return x.trim();
    const auth = req.headers.authorization;
    return auth?.startsWith('Bearer ') ? auth.slice(7).trim() : '';
  }

  /** Namespaces the caller may read: null means all. Throws 403 for an unknown token. */
  function readable(req: http.IncomingMessage): Set<string> | null {
    if (!aclOn) return null;
    const t = tokens[token(req)];
    if (!t) throw new HttpError(403, 'Permission denied');
    return t.namespaces === '*' ? null : new Set(t.namespaces);
  }

  function namespaceFilter(req: http.IncomingMessage, ns: string): (name: string) => boolean {
    const allowed = readable(req);
    if (ns === '*') return (name) => !allowed || allowed.has(name);
    if (allowed && !allowed.has(ns)) throw new HttpError(403, 'Permission denied');
    return (name) => name === ns;
  }

  async function block(url: URL, table: Table): Promise<void> {
    const rawIndex = url.searchParams.get('index');
    if (rawIndex === null) return;
    if (!/^\d+$/.test(rawIndex)) throw new HttpError(400, 'Invalid index');
    const rawWait = url.searchParams.get('wait');
    let wait = 300_000;
    if (rawWait !== null) {
      const w = parseGoDuration(rawWait);
      if (w === undefined) throw new HttpError(400, 'Invalid wait time');
      wait = Math.min(w, 300_000);
    }
    const min = BigInt(rawIndex);
    if (min === 0n || state.tableIndex[table] > min) return;
    wait += Math.random() * (wait / 16);
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        state.emitter.off(`change:${table}`, onChange);
        resolve();
      };
      const onChange = () => {
        if (state.tableIndex[table] > min) done();
      };
      const timer = setTimeout(done, wait);
      state.emitter.on(`change:${table}`, onChange);
    });
  }

  function send(res: http.ServerResponse, index: bigint, body: string): void {
    res.writeHead(200, {
      'content-type': 'application/json',
      'x-nomad-index': (index > 0n ? index : 1n).toString(),
      'x-nomad-knownleader': 'true',
      'x-nomad-lastcontact': '0',
    });
    res.end(body);
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://standin');
    if (req.method !== 'GET') throw new HttpError(405, 'Invalid method');
    const p = url.pathname;
    const one = p.match(/^\/v1\/(namespace|node|job|allocation)\/([^/]+)$/);
    const kind = one?.[1];
    const oneId = one ? decodeURIComponent(one[2]!) : '';
    if (p === '/v1/event/stream') return eventStream(req, res, url);
    if (p === '/v1/namespaces') {
      readable(req);
      await block(url, 'namespaces');
      const list = [...state.namespaces.values()].sort((a, b) =>
        String(a['Name']).localeCompare(String(b['Name'])),
      );
      return send(res, state.tableIndex.namespaces, encodeGo(list));
    }
    if (kind === 'namespace') {
      readable(req);
      const ns = state.namespaces.get(oneId);
      if (!ns) throw new HttpError(404, 'Namespace not found');
      return send(res, BigInt(ns['ModifyIndex'] as bigint), encodeGo(ns));
    }
    if (p === '/v1/nodes') {
      readable(req);
      await block(url, 'nodes');
      const os = url.searchParams.get('os') === 'true';
      return send(
        res,
        state.tableIndex.nodes,
        encodeGo([...state.nodes.values()].map((n) => nodeStub(n, os))),
      );
    }
    if (kind === 'node') {
      readable(req);
      await block(url, 'nodes');
      const n = state.nodes.get(oneId);
      if (!n) throw new HttpError(404, 'node not found');
      return send(res, BigInt(n['ModifyIndex'] as bigint), encodeGo(n));
    }
    if (p === '/v1/jobs') {
      const ok = namespaceFilter(req, url.searchParams.get('namespace') ?? 'default');
      await block(url, 'jobs');
      const list = [...state.jobs.values()].filter((j) => ok(String(j['Namespace'])));
      return send(res, state.tableIndex.jobs, encodeGo(list.map(jobStub)));
    }
    if (kind === 'job') {
      const ns = url.searchParams.get('namespace') ?? 'default';
      namespaceFilter(req, ns);
      await block(url, 'jobs');
      const j = state.jobs.get(`${ns}/${oneId}`);
      if (!j) throw new HttpError(404, 'job not found');
      return send(res, BigInt(j['ModifyIndex'] as bigint), encodeGo(j));
    }
    if (p === '/v1/allocations') {
      const ok = namespaceFilter(req, url.searchParams.get('namespace') ?? 'default');
      await block(url, 'allocs');
      const prefix = url.searchParams.get('prefix') ?? '';
      const taskStates = url.searchParams.get('task_states') !== 'false';
      const list = [...state.allocs.values()]
        .filter((a) => ok(String(a['Namespace'])) && String(a['ID']).startsWith(prefix))
        .sort((a, b) => Number(BigInt(a['CreateIndex'] as bigint) - BigInt(b['CreateIndex'] as bigint)));
      return send(res, state.tableIndex.allocs, encodeGo(list.map((a) => allocStub(a, taskStates))));
    }
    if (kind === 'allocation') {
      const allowed = readable(req);
      await block(url, 'allocs');
      const id = oneId;
      const a = state.allocs.get(id);
      if (!a) throw new HttpError(404, 'alloc not found');
      // Nomad answers a forbidden namespace with 500 Unknown allocation (nomad/alloc_endpoint.go).
      if (allowed && !allowed.has(String(a['Namespace'])))
        throw new HttpError(500, `Unknown allocation "${id}"`);
      return send(res, BigInt(a['ModifyIndex'] as bigint), encodeGo(a, true));
    }
    throw new HttpError(404, 'Invalid URL');
  }

  function eventStream(req: http.IncomingMessage, res: http.ServerResponse, url: URL): void {
    const topics = new Map<string, string>();
    for (const t of url.searchParams.getAll('topic')) {
      const parts = t.split(':');
      if (parts.length > 2) throw new HttpError(400, `Invalid topic query: ${t}`);
      topics.set(parts[0]!, parts[1] ?? '*');
    }
    const rawIndex = url.searchParams.get('index') ?? '0';
    if (!/^\d+$/.test(rawIndex)) throw new HttpError(400, `Unable to parse index: ${rawIndex}`);
    const from = BigInt(rawIndex);
    const ns = url.searchParams.get('namespace') ?? 'default';
    const allowed = readable(req);
    if (ns === '*' && allowed) throw new HttpError(403, 'Permission denied');
    if (ns !== '*' && allowed && !allowed.has(ns)) throw new HttpError(403, 'Permission denied');
    // `*` is the set of namespaces that exist now, frozen for the life of the subscription.
    const nsSet = ns === '*' ? new Set(state.namespaces.keys()) : new Set([ns]);

    const matches = (e: StandinEvent): boolean => {
      const key = topics.size === 0 ? '*' : (topics.get(e.Topic) ?? topics.get('*'));
      if (key === undefined) return false;
      if (key !== '*' && e.Key !== key && !(e.FilterKeys ?? []).includes(key)) return false;
      return e.Namespace === '' || nsSet.has(e.Namespace);
    };
    const write = (f: StandinFrame) => {
      const events = f.Events.filter(matches);
      if (events.length > 0) res.write(`${encodeGo({ Events: events, Index: f.Index })}\n`);
    };

    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-cache' });
    res.write('{}\n');
    streams.add(res);
    // Inclusive start at the closest buffered item; newer than everything replays the newest.
    const buf = state.buffer;
    let start = buf.findIndex((f) => f.Index >= from);
    if (start < 0) start = buf.length - 1;
    for (let i = Math.max(0, start); i < buf.length && start >= 0; i++) write(buf[i]!);
    state.emitter.on('frame', write);
    const heartbeat = setInterval(() => res.write('{}\n'), heartbeatMs);
    const cleanup = () => {
      clearInterval(heartbeat);
      state.emitter.off('frame', write);
      streams.delete(res);
    };
    res.on('close', cleanup);
    req.on('close', cleanup);
  }

  return {
    state,
    listen(port = 0, host = '127.0.0.1') {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          const a = server.address() as AddressInfo;
          resolve(`http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`);
        });
      });
    },
    close() {
      for (const s of streams) s.destroy();
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
    cutStreams() {
      const n = streams.size;
      for (const s of [...streams]) s.destroy();
      return n;
    },
    setDown(d) {
      down = d;
      if (d) {
        for (const s of [...streams]) s.destroy();
        server.closeAllConnections();
      }
    },
    get streams() {
      return streams.size;
    },
    get refused() {
      return refused;
    },
  };
}

function nodeStub(n: GoObject, os: boolean): GoObject {
  const stub: GoObject = {
    Address: String(n['HTTPAddr']).replace(/:\d+$/, ''),
    CreateIndex: n['CreateIndex'],
    Datacenter: n['Datacenter'],
    Drain: n['Drain'],
    Drivers: null,
    HostVolumes: null,
    ID: n['ID'],
    LastDrain: null,
    ModifyIndex: n['ModifyIndex'],
    Name: n['Name'],
    NodeClass: n['NodeClass'],
    NodePool: n['NodePool'],
    SchedulingEligibility: n['SchedulingEligibility'],
    Status: n['Status'],
    StatusDescription: n['StatusDescription'],
    Version: '1.9.0',
  };
  if (os) stub['Attributes'] = { 'os.name': (n['Attributes'] as GoObject | null)?.['os.name'] ?? '' };
  return stub;
}

function jobStub(j: GoObject): GoObject {
  return {
    CreateIndex: j['CreateIndex'],
    Datacenters: j['Datacenters'],
    ID: j['ID'],
    JobModifyIndex: j['JobModifyIndex'],
    JobSummary: null,
    ModifyIndex: j['ModifyIndex'],
    Multiregion: null,
    Name: j['Name'],
    Namespace: j['Namespace'],
    NodePool: j['NodePool'],
    ParameterizedJob: false,
    ParentID: j['ParentID'],
    Periodic: false,
    Priority: j['Priority'],
    Status: j['Status'],
    StatusDescription: j['StatusDescription'],
    Stop: false,
    SubmitTime: j['SubmitTime'],
    Type: j['Type'],
  };
}

/** The list stub: every field present, no NetworkStatus, no Job (nomad/structs/alloc.go Stub()). */
function allocStub(a: GoObject, taskStates: boolean): GoObject {
  const s = (k: string) => (a[k] as string | undefined) ?? '';
  const job = a['Job'] as GoObject | undefined;
  return {
    ClientDescription: s('ClientDescription'),
    ClientStatus: s('ClientStatus'),
    CreateIndex: a['CreateIndex'],
    CreateTime: a['CreateTime'],
    DeploymentStatus: null,
    DesiredDescription: s('DesiredDescription'),
    DesiredStatus: s('DesiredStatus'),
    DesiredTransition: {
      ForceReschedule: null,
      Migrate: null,
      MigrateDisablePlacement: null,
      NoShutdownDelay: null,
      Reschedule: null,
    },
    EvalID: s('EvalID'),
    FollowupEvalID: '',
    ID: a['ID'],
    JobID: a['JobID'],
    JobType: job?.['Type'] ?? '',
    JobVersion: job?.['Version'] ?? 0n,
    ModifyIndex: a['ModifyIndex'],
    ModifyTime: a['ModifyTime'],
    Name: a['Name'],
    Namespace: a['Namespace'],
    NextAllocation: '',
    NodeID: a['NodeID'],
    NodeName: a['NodeName'],
    PreemptedAllocations: null,
    PreemptedByAllocation: '',
    RescheduleTracker: null,
    TaskGroup: a['TaskGroup'],
    TaskStates: taskStates ? {} : null,
  };
}

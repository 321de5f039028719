/**
 * The typed client of Flowtrail's HTTP API (`/api/v1`). Every page talks to the backend through
 * it, so the bearer token, error decoding (the API's `{"error":{"status","message","param"}}`
 * body becomes an ApiError that names the parameter) and the response shapes live in one place.
 * Shapes follow the OpenAPI document at `/api/v1/openapi.json`.
 * @module
 */

import type { CaseNote, CaseReport, CaseState, CaseSummary } from '../../common/case.ts';
import type { Owner } from '../../common/ownership/who.ts';

/** A failed API call: HTTP status, the API's message, and the parameter it blames (400s). */
export class ApiError extends Error {
  readonly status: number;
  readonly param: string | undefined;

  constructor(status: number, message: string, param?: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.param = param;
  }
}

/** Query parameters; arrays repeat the parameter (repeated filters are ORed by the API). */
export type Params = Record<string, string | number | readonly string[] | undefined | null>;

/** One end of a flow as Hubble JSON carries it. */
export interface HubbleEndpoint {
  ID?: number;
  identity?: number;
  namespace?: string;
  labels?: string[];
  pod_name?: string;
  workloads?: { name?: string; kind?: string }[];
  cluster_name?: string;
}

/** The fields of a Hubble Flow the UI reads (the drawer shows all of them, whatever they are). */
export interface HubbleFlow {
  time?: string;
  uuid?: string;
  verdict?: string;
  drop_reason_desc?: string;
  IP?: {
    source?: string;
    destination?: string;
    ipVersion?: string;
    source_xlated?: string;
    encrypted?: boolean;
  };
  l4?: {
    TCP?: { source_port?: number; destination_port?: number; flags?: Record<string, boolean> };
    UDP?: { source_port?: number; destination_port?: number };
    SCTP?: { source_port?: number; destination_port?: number };
    ICMPv4?: { type?: number; code?: number };
    ICMPv6?: { type?: number; code?: number };
  };
  source?: HubbleEndpoint;
  destination?: HubbleEndpoint;
  Type?: string;
  node_name?: string;
  source_names?: string[];
  destination_names?: string[];
  l7?: {
    type?: string;
    dns?: { query?: string; rcode?: number; ips?: string[] };
    http?: { code?: number; method?: string; url?: string };
  };
  event_type?: { type?: number; sub_type?: number };
  traffic_direction?: string;
  is_reply?: boolean;
  Summary?: string;
  [k: string]: unknown;
}

/** The owner of one end at the flow's time: the API's OWNER shape, declared once in common/. */
export type { CaseNote, CaseReport, CaseState, CaseSummary, Owner };

/** One stored flow: a Hubble JSON line plus both ends' attribution. */
export interface FlowLine {
  flow: HubbleFlow;
  node_name?: string;
  time?: string;
  attribution: { source: Owner | null; destination: Owner | null };
}

/** A page of `GET /api/v1/flows`. */
export interface FlowPage {
  flows: FlowLine[];
  count: number;
  next_cursor: string | null;
  since: string;
  until: string;
}

/** `GET /api/v1/attribution`: who held an address at an instant, and before and after. */
export interface AttributionAnswer {
  ip: string;
  at: string;
  owner: Owner | null;
  previous: Owner | null;
  next: Owner | null;
}

/** One allocation of a ranked account. */
export interface InvestigationAllocation {
  alloc_id: string;
  alloc_name: string;
  job: string;
  node: string;
  flows: number;
  full_match_flows: number;
  first_seen: string;
  last_seen: string;
}

/** One ranked account of an investigation, with its allocations and evidence. */
export interface InvestigationAccount {
  rank: number;
  tenant: string;
  account: string;
  full_match_flows: number;
  flows: number | string;
  closest_s: number;
  first_seen: string;
  last_seen: string;
  verdicts: Record<string, number | string>;
  source: string;
  attributed_end: 'source' | 'destination' | 'both';
  attributed_flows?: { source: number; destination: number };
  conflicts: string[];
  allocations: InvestigationAllocation[];
  samples: FlowLine[];
  [k: string]: unknown;
}

/** The request body of `POST /api/v1/investigations`: our side, their side, or both. */
export interface InvestigationRequest {
  indicator?: string;
  remote?: string;
  port?: number;
  protocol?: string;
  since?: string;
  until?: string;
  at?: string;
  tolerance?: number;
  direction?: string;
}

/** A saved case. */
export interface Investigation {
  id: string;
  created_at?: string;
  created_by?: string;
  window?: { since: string; until: string; reference: string | null };
  indicator_side?: 'ours' | 'outside' | 'mixed' | 'none';
  accounts: InvestigationAccount[];
  /** The working state, notes and reports (when read back with `GET`). */
  case?: CaseState & { notes: CaseNote[]; reports?: CaseReport[] };
  [k: string]: unknown;
}

/** The body of `PATCH /api/v1/investigations/{id}`. */
export interface CaseUpdate {
  status?: CaseState['status'];
  assignee?: string;
  linked_incidents?: string[];
}

/** One series of `GET /api/v1/timeseries`, normalised: a key and counts per step. */
export interface Series {
  key: string;
  points: { t: string; count: number }[];
}

/** `GET /api/v1/timeseries`, normalised. */
export interface Timeseries {
  step_seconds: number;
  series: Series[];
}

/** One row of `GET /api/v1/top`, normalised. */
export interface TopItem {
  key: string;
  count: number;
  [k: string]: unknown;
}

/** One edge of `GET /api/v1/topology`, normalised. */
export interface TopologyEdge {
  source: string;
  destination: string;
  source_tenant: string;
  destination_tenant: string;
  destination_scope: string;
  /** DNS name of an address end, when the API knows one (world addresses). */
  source_name?: string;
  destination_name?: string;
  flows: number;
  dropped: number;
  raw: Record<string, unknown>;
}

/** An alert incident (`GET /api/v1/alerts/incidents`). */
export interface Incident {
  id: string;
  rule: string;
  severity: string;
  tenant: string;
  account: string;
  alloc_id: string;
  first_seen: string;
  last_seen: string;
  count: number | string;
  status: string;
  alloc_name?: string;
  job?: string;
  /** The /api/v1/flows query of the flows behind the incident (its rule's keys over its window). */
  evidence_url?: string;
  [k: string]: unknown;
}

/** `GET /api/v1/alerts/incidents`: a page of incidents, the total that match, and group counts. */
export interface IncidentPage {
  incidents: Incident[];
  total?: number;
  offset?: number;
  limit?: number;
  groups?: { key: string; count: number; open: number; events: number }[];
}

/** `GET /api/v1/visualize`: top groups of up to three dimensions, their series and the totals. */
export interface Visualization {
  dimensions: string[];
  step_seconds: number;
  since: string;
  until: string;
  top: { key: string[]; flows: number; drops: number }[];
  points: { time: string; key: string[]; flows: number }[];
  totals: { time: string; flows: number }[];
}

/** Who the API says the caller is. */
export interface Principal {
  name: string;
  role: 'admin' | 'investigator' | 'sre' | 'tenant';
  tenant?: string;
}

/** Builds `path?query` with repeated parameters for arrays and empty values left out. */
export function buildUrl(path: string, params: Params = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue;
    if (Array.isArray(v)) for (const x of v as readonly string[]) q.append(k, x);
    else q.append(k, String(v));
  }
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v ?? 0) || 0);
const str = (v: unknown): string => (v === null || v === undefined ? '' : String(v));
const asRecord = (v: unknown): Record<string, unknown> =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

/** The API client; one per signed-in session. */
export class ApiClient {
  private readonly token: () => string | null;
  private readonly base: string;

  constructor(token: () => string | null, base = '') {
    this.token = token;
    this.base = base;
  }

  /** Headers for a request (the bearer token when signed in). */
  headers(extra: Record<string, string> = {}): Record<string, string> {
    const t = this.token();
    return { Accept: 'application/json', ...(t ? { Authorization: `Bearer ${t}` } : {}), ...extra };
  }

  /** Absolute-path URL of an API route (for export links). */
  url(path: string, params: Params = {}): string {
    return this.base + buildUrl(path, params);
  }

  /** Performs a request and decodes JSON, turning error bodies into ApiErrors. */
  async request<T>(
    method: string,
    path: string,
    params: Params = {},
    body?: unknown,
    signal?: AbortSignal,
    /** Send `body` (a string) as is with this content type, instead of as JSON. */
    contentType?: string,
  ): Promise<T> {
    const send = () =>
      fetch(this.url(path, params), {
        method,
        headers: this.headers(
          body === undefined ? {} : { 'Content-Type': contentType ?? 'application/json' },
        ),
        ...(body === undefined ? {} : { body: contentType ? String(body) : JSON.stringify(body) }),
        ...(signal ? { signal } : {}),
      });
    let res = await send();
    // 429: this user has too many requests in flight (a busy page, two tabs); wait as told, twice at most.
    for (let i = 0; i < 2 && res.status === 429 && !signal?.aborted; i++) {
      const wait = Math.min(5, Math.max(1, Number(res.headers.get('Retry-After')) || 1));
      await res.body?.cancel();
      await new Promise((r) => setTimeout(r, wait * 1000));
      res = await send();
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (!res.ok) {
      const e = asRecord(asRecord(json)['error']);
      const message =
        str(e['message']) || str(asRecord(json)['message']) || text.slice(0, 200) || res.statusText;
      const param = str(e['param']) || undefined;
      throw new ApiError(res.status, message, param);
    }
    return json as T;
  }

  /** Fetches a route with the token and returns the body as a Blob (for downloads). */
  async download(path: string, params: Params = {}): Promise<Blob> {
    const res = await fetch(this.url(path, params), { headers: this.headers({ Accept: '*/*' }) });
    if (!res.ok) throw new ApiError(res.status, (await res.text()).slice(0, 300));
    return res.blob();
  }

  /** Who am I (`GET /api/v1/whoami`). */
  whoami(signal?: AbortSignal): Promise<Principal> {
    return this.request<Principal>('GET', '/api/v1/whoami', {}, undefined, signal);
  }

  /** One page of flows. */
  flows(params: Params, signal?: AbortSignal): Promise<FlowPage> {
    return this.request<FlowPage>('GET', '/api/v1/flows', { ...params, format: 'json' }, undefined, signal);
  }

  /** Who held `ip` at `at`. */
  attribution(ip: string, at: string, signal?: AbortSignal): Promise<AttributionAnswer> {
    return this.request<AttributionAnswer>('GET', '/api/v1/attribution', { ip, at }, undefined, signal);
  }

  /** Opens (and saves) a case. */
  investigate(req: InvestigationRequest, signal?: AbortSignal): Promise<Investigation> {
    return this.request<Investigation>('POST', '/api/v1/investigations', {}, req, signal);
  }

  /** Reads a saved case. */
  investigation(id: string, signal?: AbortSignal): Promise<Investigation> {
    return this.request<Investigation>(
      'GET',
      `/api/v1/investigations/${encodeURIComponent(id)}`,
      {},
      undefined,
      signal,
    );
  }

  /** Changes a case's status, assignee or linked incidents (audited by the API). */
  updateCase(id: string, change: CaseUpdate, signal?: AbortSignal): Promise<CaseState & { id: string }> {
    return this.request('PATCH', `/api/v1/investigations/${encodeURIComponent(id)}`, {}, change, signal);
  }

  /** Adds a note to a case; answers every note of the case. */
  addCaseNote(id: string, text: string, signal?: AbortSignal): Promise<{ id: string; notes: CaseNote[] }> {
    return this.request(
      'POST',
      `/api/v1/investigations/${encodeURIComponent(id)}/notes`,
      {},
      { text },
      signal,
    );
  }

  /**
   * Imports an abuse report (X-ARF JSON or YAML, or an ARF / X-ARF email) as it arrived: JSON is
   * sent as JSON, anything else as text. The API opens a prefilled case and answers it.
   */
  importReport(
    raw: string,
    signal?: AbortSignal,
  ): Promise<Investigation & { report?: Record<string, unknown> }> {
    let json = false;
    try {
      json = typeof JSON.parse(raw) === 'object';
    } catch {
      json = false;
    }
    return this.request(
      'POST',
      '/api/v1/reports',
      {},
      raw,
      signal,
      json ? 'application/json' : 'text/plain; charset=utf-8',
    );
  }

  /** A tenant's summary, as the API gives it. */
  tenantSummary(tenant: string, params: Params, signal?: AbortSignal): Promise<Record<string, unknown>> {
    return this.request(
      'GET',
      `/api/v1/tenants/${encodeURIComponent(tenant)}/summary`,
      params,
      undefined,
      signal,
    );
  }

  /** Counts per step by a dimension (verdict, drop_reason, tenant, scope). */
  async timeseries(params: Params, signal?: AbortSignal): Promise<Timeseries> {
    const raw = await this.request<unknown>('GET', '/api/v1/timeseries', params, undefined, signal);
    return normaliseTimeseries(raw);
  }

  /** Top keys of a dimension. */
  async top(params: Params, signal?: AbortSignal): Promise<TopItem[]> {
    const raw = await this.request<unknown>('GET', '/api/v1/top', params, undefined, signal);
    return normaliseTop(raw, typeof params['metric'] === 'string' ? params['metric'] : 'flows');
  }

  /** Flow events grouped by dimensions (the Visualize page). */
  visualize(params: Params, signal?: AbortSignal): Promise<Visualization> {
    return this.request<Visualization>('GET', '/api/v1/visualize', params, undefined, signal);
  }

  /** Edges between owners and peers. */
  async topology(params: Params, signal?: AbortSignal): Promise<TopologyEdge[]> {
    const raw = await this.request<unknown>('GET', '/api/v1/topology', params, undefined, signal);
    return normaliseTopology(raw);
  }

  /** Alert rules, incidents or deliveries (404 when the alerts API is absent). */
  alerts(
    kind: 'rules' | 'incidents' | 'deliveries',
    params: Params = {},
    signal?: AbortSignal,
  ): Promise<unknown> {
    return this.request<unknown>('GET', `/api/v1/alerts/${kind}`, params, undefined, signal);
  }
}

/** Finds the list in a response that is either a bare array or an object holding one. */
export function listOf(raw: unknown, ...keys: string[]): unknown[] {
  if (Array.isArray(raw)) return raw;
  const r = asRecord(raw);
  for (const k of [...keys, 'items', 'rows', 'data']) if (Array.isArray(r[k])) return r[k] as unknown[];
  return [];
}

/**
 * Normalises a timeseries answer. The API gives flat points `{time, key, flows}` with
 * `step_seconds`; charts want one series per key with a point per step.
 */
export function normaliseTimeseries(raw: unknown): Timeseries {
  const r = asRecord(raw);
  const step = num(r['step_seconds'] ?? r['step']) || 60;
  const byKey = new Map<string, { t: string; count: number }[]>();
  for (const p of listOf(raw, 'points')) {
    const q = asRecord(p);
    const key = str(q['key']) || '(none)';
    const list = byKey.get(key) ?? [];
    list.push({ t: str(q['time'] ?? q['t']), count: num(q['flows'] ?? q['count']) });
    byKey.set(key, list);
  }
  return { step_seconds: step, series: [...byKey].map(([key, points]) => ({ key, points })) };
}

/** Normalises a top answer to `[{key, count}]` (key: ip, port/protocol or tenant), keeping the other fields. */
export function normaliseTop(raw: unknown, metric = 'flows'): TopItem[] {
  return listOf(raw, 'items').map((x) => {
    const o = asRecord(x);
    const key = o['ip'] ?? (o['port'] !== undefined ? o['port'] : o['tenant']);
    return { ...o, key: str(key), count: num(o[metric] ?? o['flows']) };
  });
}

function endpointName(v: unknown): string {
  if (typeof v === 'string') return v;
  const o = asRecord(v);
  return str(o['label'] ?? o['name'] ?? o['id'] ?? o['job'] ?? o['ip'] ?? o['address']);
}

/** Normalises a topology answer (`{nodes, edges:[{source, destination, flows, ports, verdicts}]}`). */
export function normaliseTopology(raw: unknown): TopologyEdge[] {
  // Node names (`nodes: [{id, name}]`): the DNS names of world addresses.
  const names = new Map<string, string>();
  for (const n of listOf(raw, 'nodes')) {
    const r = asRecord(n);
    if (typeof r['name'] === 'string' && r['name']) names.set(str(r['id']), r['name']);
  }
  return listOf(raw, 'edges').map((x) => {
    const o = asRecord(x);
    const verdicts = asRecord(o['verdicts']);
    const source = endpointName(o['source']);
    const destination = endpointName(o['destination']);
    const sourceName = names.get(source);
    const destinationName = names.get(destination);
    return {
      source,
      destination,
      ...(sourceName ? { source_name: sourceName } : {}),
      ...(destinationName ? { destination_name: destinationName } : {}),
      source_tenant: source.includes('/') ? (source.split('/')[0] ?? '') : '',
      destination_tenant: destination.includes('/') ? (destination.split('/')[0] ?? '') : '',
      destination_scope: str(o['destination_scope'] ?? o['scope']),
      flows: num(o['flows'] ?? o['count']),
      dropped: num(verdicts['DROPPED'] ?? o['dropped']),
      raw: o,
    };
  });
}

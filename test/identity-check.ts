/**
 * The "done when" of issue 12 as a check that runs: over every output that shows an owner, no
 * owner record mixes two identities, and every labels-vs-ownership disagreement is visible as a
 * conflict. "Mixes two identities": an end whose tenant/account/job/alloc_name/node do not belong
 * to the allocation (alloc_id) the ownership table records. "Visible": an end whose netreap
 * labels name another tenant or job than the owner shown carries a `conflict` (JSON/NDJSON) or a
 * `*_conflict` cell (CSV).
 *
 * Outputs: /api/v1/flows as JSON, NDJSON and CSV, gRPC GetFlows (Hubble's Flow carries no owner
 * record, only the ingested labels: counted, never mixed), /api/v1/attribution (who),
 * /api/v1/investigations, /api/v1/top by source and destination (tenant/account/job per address,
 * checked against the identities that held that address), and the tenant summary (counts only).
 *
 * Used by test/identity-restart.int.test.ts over an accelerated demo, and runnable over any data
 * directory (e.g. after `flowtrail start` ran 10 min, restarted, 10 min more):
 *   npx tsx test/identity-check.ts <data-dir> [windows]
 * which starts the query service on that directory (nothing else may hold it) and prints the
 * tallies as JSON.
 * @module
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { createChdbStore } from '../common/clickhouse/chdb-store.ts';
import { migrate } from '../common/clickhouse/migrator.ts';
import type { Store } from '../common/clickhouse/store.ts';
import { parseConfig } from '../common/config/load.ts';
import { configureLogging, createLogger } from '../common/logger.ts';
import { createMetricsRegistry } from '../common/metrics.ts';
import { attributionLookup } from '../common/ownership/who.ts';
import { formatTimeNs } from '../common/time.ts';
import { GetFlowsRequest, type GetFlowsResponse, ObserverClient } from '../proto/gen/observer/observer.ts';
import { createQueryService } from '../query-api/src/service.ts';
import { loopbackListen } from '../query-api/src/testing.ts';

/** Where the outputs are served, and the store holding the ownership table behind them. */
export interface CheckTarget {
  url: string;
  grpcAddress: string;
  store: Store;
  /** Bearer token, when the API is not open. */
  token?: string;
}

/** What one output showed. */
export interface OutputTally {
  /** Owner records checked (ends, who answers, investigation allocations, top items). */
  records: number;
  /** Records with an alloc_id (or, for top, a tenant) that could be compared. */
  compared: number;
  /** Records mixing two identities. */
  mixed: number;
  /** Ends whose labels disagree with the owner shown. */
  disagreements: number;
  /** …of which carry no visible conflict. */
  unflagged: number;
  /** A few offending records, for the report. */
  examples: string[];
}

/** Tallies per output, and what was checked against. */
export interface CheckReport {
  outputs: Record<string, OutputTally>;
  meta: { flows: number; allocations: number; inconsistentAllocations: number; windows: number };
}

interface Identity {
  tenant: string;
  account: string;
  job: string;
  alloc_name: string;
  node: string;
}
// biome-ignore lint/suspicious/noExplicitAny: JSON of several outputs, read field by field
type J = Record<string, any>;

const tally = (): OutputTally => ({
  records: 0,
  compared: 0,
  mixed: 0,
  disagreements: 0,
  unflagged: 0,
  examples: [],
});

/** Every allocation's identity, and the identities that held each address. */
async function ownershipIdentities(store: Store) {
  const rows = await store.query<Identity & { alloc_id: string; addresses: string[]; n: string }>(
    `SELECT id AS alloc_id, i.1 AS tenant, i.2 AS account, i.3 AS job, i.4 AS alloc_name, i.5 AS node, addresses, n
     FROM (
       SELECT alloc_id AS id, any(tuple(tenant, account, job, alloc_name, node_name)) AS i,
         groupUniqArray(if(startsWith(IPv6NumToString(address), '::ffff:'), substring(IPv6NumToString(address), 8),
           IPv6NumToString(address))) AS addresses,
         toString(uniqExact(tuple(tenant, account, job, alloc_name, node_name))) AS n
       FROM ownership WHERE kind = 'alloc' GROUP BY alloc_id)`,
  );
  const allocs = new Map<string, Identity>();
  const byAddress = new Map<string, Set<string>>();
  let inconsistent = 0;
  for (const r of rows) {
    if (r.n !== '1') inconsistent++;
    allocs.set(r.alloc_id, r);
    for (const a of r.addresses) {
      const key = a;
      const set = byAddress.get(key) ?? new Set<string>();
      set.add(`${r.tenant}|${r.account}|${r.job}`);
      byAddress.set(key, set);
    }
  }
  return { allocs, byAddress, inconsistent };
}

/** The owner fields an output shows for one end. */
interface ShownEnd {
  tenant?: string;
  account?: string;
  job?: string;
  alloc_id?: string;
  alloc_name?: string;
  node?: string;
}

function mixedFields(shown: ShownEnd, id: Identity): string[] {
  return (['tenant', 'account', 'job', 'alloc_name', 'node'] as const).filter(
    (f) => (shown[f] ?? '') !== '' && shown[f] !== id[f],
  );
}

/** What labels claim about an end: tenant and job, '' when absent. */
function labelClaim(labels: readonly string[] | undefined): { tenant: string; job: string } {
  let tenant = '';
  let job = '';
  for (const l of labels ?? []) {
    if (l.startsWith('nomad:tenant=')) tenant = l.slice('nomad:tenant='.length);
    else if (l.startsWith('netreap:nomad.job_id=')) job = l.slice('netreap:nomad.job_id='.length);
  }
  return { tenant, job };
}

/** Minimal RFC 4180 reader (quoted cells, doubled quotes, CRLF). */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else cell += c;
  }
  if (cell !== '' || row.length) {
    row.push(cell);
    rows.push(row);
  }
  return rows;
}

/** Runs the check over `windows` equal slices of the stored time span. */
export async function checkIdentities(
  t: CheckTarget,
  opts: { windows?: number; perWindow?: number; whoPerWindow?: number } = {},
): Promise<CheckReport> {
  const windows = opts.windows ?? 6;
  const perWindow = opts.perWindow ?? 2000;
  const whoPerWindow = opts.whoPerWindow ?? 20;
  const headers: Record<string, string> = t.token ? { authorization: `Bearer ${t.token}` } : {};
  const { allocs, byAddress, inconsistent } = await ownershipIdentities(t.store);
  const [span] = await t.store.query<{ lo: string; hi: string; n: string }>(
    `SELECT toString(toUnixTimestamp64Nano(min(time))) AS lo, toString(toUnixTimestamp64Nano(max(time))) AS hi,
       toString(count()) AS n FROM flows`,
  );
  const lo = BigInt(span?.lo ?? '0');
  const hi = BigInt(span?.hi ?? '0') + 1n;
  const out = {
    'flows json': tally(),
    'flows ndjson': tally(),
    'flows csv': tally(),
    'grpc GetFlows': tally(),
    who: tally(),
    investigations: tally(),
    top: tally(),
    'tenant summary': tally(),
  };
  const note = (o: OutputTally, text: string) => {
    if (o.examples.length < 5) o.examples.push(text);
  };

  /** Checks one end shown with an owner record; labels when the output has them. */
  const checkEnd = (
    o: OutputTally,
    e: J | null | undefined,
    labels?: readonly string[],
    conflict?: boolean,
  ) => {
    if (!e) return;
    o.records++;
    const id = e['alloc_id'] ? allocs.get(e['alloc_id']) : undefined;
    if (e['alloc_id']) {
      o.compared++;
      const bad = id ? mixedFields(e, id) : ['alloc_id unknown to the ownership table'];
      if (bad.length) {
        o.mixed++;
        note(o, `${JSON.stringify(e)} vs ${JSON.stringify(id)} (${bad.join(', ')})`);
      }
    }
    if (labels) {
      const claim = labelClaim(labels);
      const differ =
        (claim.tenant !== '' && (e['tenant'] ?? '') !== '' && claim.tenant !== e['tenant']) ||
        (claim.job !== '' && (e['job'] ?? '') !== '' && claim.job !== e['job']);
      if (differ) {
        o.disagreements++;
        if (!(conflict ?? e['conflict'])) {
          o.unflagged++;
          note(o, `labels ${JSON.stringify(claim)} vs owner ${e['tenant']}/${e['job']} without conflict`);
        }
      }
    }
  };

  const client = new ObserverClient(t.grpcAddress, grpc.credentials.createInsecure());
  const md = new grpc.Metadata();
  if (t.token) md.set('authorization', `Bearer ${t.token}`);
  const tenants = new Set<string>();
  try {
    for (let w = 0; w < windows; w++) {
      const since = lo + ((hi - lo) * BigInt(w)) / BigInt(windows);
      const until = lo + ((hi - lo) * BigInt(w + 1)) / BigInt(windows);
      const range = `since=${formatTimeNs(since)}&until=${formatTimeNs(until)}`;

      // JSON page
      const jr = await fetch(
        `${t.url}/api/v1/flows?${range}&order=oldest&limit=${Math.min(perWindow, 10_000)}`,
        {
          headers,
        },
      );
      if (jr.status !== 200) throw new Error(`flows json: HTTP ${jr.status} ${await jr.text()}`);
      const page = ((await jr.json()) as J)['flows'] as J[];
      const labelsById = new Map<string, { src?: string[]; dst?: string[] }>();
      const whoProbes: { ip: string; at: string; alloc: string }[] = [];
      for (const f of page) {
        const flow = f['flow'] as J;
        const src = f['attribution']?.['source'];
        const dst = f['attribution']?.['destination'];
        checkEnd(out['flows json'], src, flow['source']?.['labels'] ?? []);
        checkEnd(out['flows json'], dst, flow['destination']?.['labels'] ?? []);
        if (typeof flow['uuid'] === 'string')
          labelsById.set(flow['uuid'].replace(/-/g, ''), {
            src: flow['source']?.['labels'],
            dst: flow['destination']?.['labels'],
          });
        for (const [e, ip] of [
          [src, flow['IP']?.['source']],
          [dst, flow['IP']?.['destination']],
        ] as const) {
          if (e?.['tenant']) tenants.add(e['tenant']);
          if (e?.['alloc_id'] && ip && whoProbes.length < whoPerWindow && whoProbes.every((p) => p.ip !== ip))
            whoProbes.push({ ip, at: String(flow['time']), alloc: e['alloc_id'] });
        }
      }

      // NDJSON
      const nr = await fetch(`${t.url}/api/v1/flows?${range}&order=oldest&format=ndjson&limit=${perWindow}`, {
        headers,
      });
      if (nr.status !== 200) throw new Error(`flows ndjson: HTTP ${nr.status}`);
      for (const l of (await nr.text()).split('\n')) {
        if (!l.trim()) continue;
        const f = JSON.parse(l) as J;
        const flow = f['flow'] as J;
        if (!flow) continue;
        checkEnd(out['flows ndjson'], f['attribution']?.['source'], flow['source']?.['labels'] ?? []);
        checkEnd(
          out['flows ndjson'],
          f['attribution']?.['destination'],
          flow['destination']?.['labels'] ?? [],
        );
      }

      // CSV (no labels in CSV: matched to the JSON page's labels by flow id)
      const cr = await fetch(`${t.url}/api/v1/flows?${range}&order=oldest&format=csv&limit=${perWindow}`, {
        headers,
      });
      if (cr.status !== 200) throw new Error(`flows csv: HTTP ${cr.status}`);
      const [head, ...rows] = parseCsv(await cr.text());
      const col = (name: string) => head!.indexOf(name);
      for (const r of rows) {
        if (r.length < head!.length) continue;
        const labels = labelsById.get(r[col('flow_id')] ?? '');
        for (const side of ['src', 'dst'] as const) {
          const end: J = {};
          for (const f of ['tenant', 'account', 'job', 'alloc_id', 'alloc_name', 'node'])
            end[f] = r[col(`${side}_${f}`)] ?? '';
          if (!end['tenant'] && !end['alloc_id']) continue;
          checkEnd(out['flows csv'], end, labels?.[side], (r[col(`${side}_conflict`)] ?? '') !== '');
        }
      }

      // gRPC GetFlows: Hubble flows (labels only, no owner record)
      await new Promise<void>((resolve, reject) => {
        const call = client.getFlows(
          GetFlowsRequest.fromPartial({
            since: { seconds: since / 1_000_000_000n, nanos: Number(since % 1_000_000_000n) },
            until: { seconds: until / 1_000_000_000n, nanos: Number(until % 1_000_000_000n) },
            number: BigInt(perWindow),
            first: true,
          }),
          md,
        );
        call.on('data', (_r: GetFlowsResponse) => {
          out['grpc GetFlows'].records++;
        });
        call.on('error', (e: grpc.ServiceError) =>
          e.code === grpc.status.CANCELLED ? resolve() : reject(e),
        );
        call.on('end', () => resolve());
      });

      // who, at the instants and addresses of owned ends
      for (const p of whoProbes) {
        const r = await fetch(
          `${t.url}/api/v1/attribution?ip=${encodeURIComponent(p.ip)}&at=${encodeURIComponent(p.at)}`,
          { headers },
        );
        if (r.status !== 200) throw new Error(`attribution: HTTP ${r.status}`);
        checkEnd(out.who, ((await r.json()) as J)['owner']);
      }

      // investigations of a few owned addresses over the window
      for (const p of whoProbes.slice(0, 3)) {
        const r = await fetch(`${t.url}/api/v1/investigations`, {
          method: 'POST',
          headers: { ...headers, 'content-type': 'application/json' },
          body: JSON.stringify({ indicator: p.ip, since: formatTimeNs(since), until: formatTimeNs(until) }),
        });
        if (r.status !== 200 && r.status !== 201)
          throw new Error(`investigations: HTTP ${r.status} ${await r.text()}`);
        const inv = (await r.json()) as J;
        for (const a of (inv['accounts'] ?? []) as J[])
          for (const al of (a['allocations'] ?? []) as J[])
            checkEnd(out.investigations, { tenant: a['tenant'], account: a['account'], ...al });
      }

      // top talkers: tenant/account/job per address must be one identity that held it
      for (const by of ['source', 'destination']) {
        const r = await fetch(`${t.url}/api/v1/top?${range}&by=${by}&n=100`, { headers });
        if (r.status !== 200) throw new Error(`top: HTTP ${r.status} ${await r.text()}`);
        for (const it of (((await r.json()) as J)['items'] ?? []) as J[]) {
          out.top.records++;
          if (!it['tenant']) continue;
          out.top.compared++;
          const held = byAddress.get(it['ip']);
          if (!held?.has(`${it['tenant']}|${it['account'] ?? ''}|${it['job'] ?? ''}`)) {
            out.top.mixed++;
            note(
              out.top,
              `${by} ${it['ip']}: ${it['tenant']}/${it['account']}/${it['job']} is no identity that held it`,
            );
          }
        }
      }
    }
    for (const tenant of tenants) {
      const r = await fetch(
        `${t.url}/api/v1/tenants/${encodeURIComponent(tenant)}/summary?since=${formatTimeNs(lo)}&until=${formatTimeNs(hi)}`,
        { headers },
      );
      if (r.status !== 200) throw new Error(`summary: HTTP ${r.status} ${await r.text()}`);
      out['tenant summary'].records++;
    }
  } finally {
    client.close();
  }
  return {
    outputs: out,
    meta: {
      flows: Number(span?.n ?? 0),
      allocations: allocs.size,
      inconsistentAllocations: inconsistent,
      windows,
    },
  };
}

/** Starts the query service over a chdb data directory, open access, ephemeral ports. */
export async function serveDataDir(dataDir: string, database = 'flowtrail') {
  const store = await createChdbStore(dataDir, database);
  await migrate(store);
  const config = parseConfig({
    auth: { mode: 'open' },
    api: { limits: { maxRangeHours: 24 * 365, maxUnboundedRangeHours: 24 * 365 } },
  });
  const service = createQueryService({
    store,
    logger: createLogger('identity-check'),
    config,
    metrics: createMetricsRegistry(),
    attribution: (ip, atNs) => attributionLookup(store, { ip, at: atNs.toString() }),
    ui: false,
    runAlerts: false,
  });
  const running = await service.start(loopbackListen);
  return {
    target: { url: running.url, grpcAddress: `127.0.0.1:${running.grpcPort}`, store } as CheckTarget,
    async close() {
      await service.stop();
      await store.close();
    },
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  configureLogging({ level: 'error' });
  const dir = process.argv[2] ?? mkdtempSync(path.join(tmpdir(), 'ft-identity-'));
  const served = await serveDataDir(dir);
  try {
    const report = await checkIdentities(served.target, { windows: Number(process.argv[3] ?? 10) });
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } finally {
    await served.close();
  }
}

/**
 * The unary Observer calls over stored flows: ServerStatus (counts over history, the rate over
 * the last minute), GetNodes (nodes seen in flows) and GetNamespaces (namespaces seen in flows
 * over the unbounded-scan window before the newest stored flow). All respect the caller's tenant
 * scope. History is the "ring buffer" here, so time windows are anchored on the newest stored
 * flow, not the wall clock: `hubble status` and `hubble list namespaces` on an imported capture
 * from last year answer as a Relay did when it held those flows.
 * @module
 */

import type { QuerySettings, Store } from '../../../common/clickhouse/index.ts';
import type { ApiLimits } from '../../../common/config/api.ts';
import type {
  GetNamespacesResponse,
  GetNodesResponse,
  ServerStatusResponse,
} from '../../../proto/gen/observer/observer.ts';
import { NodeState } from '../../../proto/gen/relay/relay.ts';
import type { Principal } from '../auth/principal.ts';
import { seesAll } from '../auth/redact.ts';
import { SqlParams, tenantScope } from '../filters/index.ts';

/** What the status calls need. */
export interface StatusDeps {
  store: Store;
  settings: QuerySettings;
  limits: ApiLimits;
  /** Process start: uptime_ns while nothing is stored yet. */
  startedAtMs: number;
  version: string;
}

/**
 * ServerStatus: the stored history seen as one big ring buffer. Connected nodes are the nodes
 * GetNodes lists (every node with stored flows), so `hubble status` and `hubble list nodes` agree.
 * Uptime is how long the store has held flows (since the oldest ingest), not this process's:
 * when nothing arrived in the last minute the hubble CLI prints seen_flows / uptime as
 * "Flows/s", which must then be the archive's average ingest rate, not flows per process second.
 */
export async function serverStatus(deps: StatusDeps, principal: Principal): Promise<ServerStatusResponse> {
  const p = new SqlParams();
  const [r] = await deps.store.query<{ n: string; recent: string; nodes: string; held_ns: string }>(
    `SELECT toString(count()) AS n, toString(countIf(received_at > now64(9) - INTERVAL 1 MINUTE)) AS recent,
       toString(uniqExactIf(node_name, node_name != '')) AS nodes,
       toString(if(count() = 0, 0, toUnixTimestamp64Nano(now64(9)) - toUnixTimestamp64Nano(min(received_at)))) AS held_ns
     FROM flows WHERE ${tenantScope(p, principal)}`,
    { params: p.values, settings: deps.settings },
  );
  const n = BigInt(r?.n ?? '0');
  const heldNs = BigInt(r?.held_ns ?? '0');
  return {
    num_flows: n,
    max_flows: n,
    seen_flows: n,
    uptime_ns: heldNs > 0n ? heldNs : BigInt(Date.now() - deps.startedAtMs) * 1_000_000n,
    num_connected_nodes: Number(r?.nodes ?? 0),
    num_unavailable_nodes: 0,
    unavailable_nodes: [],
    version: deps.version,
    flows_rate: Number(r?.recent ?? 0) / 60,
  };
}

/** GetNodes: every node that reported flows, with its flow count. */
export async function getNodes(deps: StatusDeps, principal: Principal): Promise<GetNodesResponse> {
  const p = new SqlParams();
  const rows = await deps.store.query<{ name: string; version: string; n: string }>(
    `SELECT node_name AS name, any(emitter_version) AS version, toString(count()) AS n
     FROM flows WHERE node_name != '' AND ${tenantScope(p, principal)} GROUP BY node_name ORDER BY node_name LIMIT 10000`,
    { params: p.values, settings: deps.settings },
  );
  return {
    nodes: rows.map((r) => ({
      name: r.name,
      version: r.version,
      address: '',
      state: NodeState.NODE_CONNECTED,
      uptime_ns: 0n,
      num_flows: BigInt(r.n),
      max_flows: BigInt(r.n),
      seen_flows: BigInt(r.n),
    })),
  };
}

/**
 * GetNamespaces: (cluster, namespace) pairs seen at either end within the unbounded-scan window
 * before the newest flow the caller may see (bounded scan, meaningful on old captures too).
 */
export async function getNamespaces(deps: StatusDeps, principal: Principal): Promise<GetNamespacesResponse> {
  const p = new SqlParams();
  const hours = p.bind(Math.ceil(deps.limits.maxUnboundedRangeHours), 'UInt32');
  const newest = `(SELECT max(time) FROM flows WHERE ${tenantScope(p, principal)})`;
  // A tenant lists the namespaces of its own ends only: a peer's namespace is another tenant's
  // (the rule of auth/redact.ts, by the stored owner as GetFlows redacts).
  const own = seesAll(principal) ? '1' : `owner = ${p.bind(principal.tenant ?? '', 'String')}`;
  const rows = await deps.store.query<{ cluster: string; namespace: string }>(
    `SELECT DISTINCT cluster, namespace FROM (
       SELECT arrayJoin([(source_cluster, source_namespace, src_tenant),
         (destination_cluster, destination_namespace, dst_tenant)]) AS e,
         e.1 AS cluster, e.2 AS namespace, e.3 AS owner
       FROM flows WHERE time > ${newest} - toIntervalHour(${hours}) AND ${tenantScope(p, principal)})
     WHERE namespace != '' AND ${own} ORDER BY cluster, namespace LIMIT 10000`,
    { params: p.values, settings: deps.settings },
  );
  return { namespaces: rows.map((r) => ({ cluster: r.cluster, namespace: r.namespace })) };
}

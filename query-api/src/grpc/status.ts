/**
 * The unary Observer calls over stored flows: ServerStatus (counts over history, the rate over
 * the last minute), GetNodes (nodes seen in flows) and GetNamespaces (namespaces seen in flows
 * over the unbounded-scan window). All respect the caller's tenant scope.
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
import { SqlParams, tenantScope } from '../filters/index.ts';

/** What the status calls need. */
export interface StatusDeps {
  store: Store;
  settings: QuerySettings;
  limits: ApiLimits;
  /** Process start, for uptime_ns. */
  startedAtMs: number;
  version: string;
}

/** ServerStatus: the stored history seen as one big ring buffer. */
export async function serverStatus(deps: StatusDeps, principal: Principal): Promise<ServerStatusResponse> {
  const p = new SqlParams();
  const [r] = await deps.store.query<{ n: string; recent: string; nodes: string }>(
    `SELECT toString(count()) AS n, toString(countIf(received_at > now64(9) - INTERVAL 1 MINUTE)) AS recent,
       toString(uniqIf(node_name, time > now64(9) - INTERVAL 1 HOUR)) AS nodes
     FROM flows WHERE ${tenantScope(p, principal)}`,
    { params: p.values, settings: deps.settings },
  );
  const n = BigInt(r?.n ?? '0');
  return {
    num_flows: n,
    max_flows: n,
    seen_flows: n,
    uptime_ns: BigInt(Date.now() - deps.startedAtMs) * 1_000_000n,
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

/** GetNamespaces: (cluster, namespace) pairs seen at either end recently. */
export async function getNamespaces(deps: StatusDeps, principal: Principal): Promise<GetNamespacesResponse> {
  const p = new SqlParams();
  const hours = p.bind(Math.ceil(deps.limits.maxUnboundedRangeHours), 'UInt32');
  const rows = await deps.store.query<{ cluster: string; namespace: string }>(
    `SELECT DISTINCT cluster, namespace FROM (
       SELECT arrayJoin([(source_cluster, source_namespace), (destination_cluster, destination_namespace)]) AS e,
         e.1 AS cluster, e.2 AS namespace
       FROM flows WHERE time > now64(9) - toIntervalHour(${hours}) AND ${tenantScope(p, principal)})
     WHERE namespace != '' ORDER BY cluster, namespace LIMIT 10000`,
    { params: p.values, settings: deps.settings },
  );
  return { namespaces: rows.map((r) => ({ cluster: r.cluster, namespace: r.namespace })) };
}

/**
 * DNS names of the world addresses of a service map: Hubble records the name a workload looked up
 * for an address it then talked to in the flow's `destination_names` (and `source_names` for the
 * reverse direction; ../shared/reference/hubble-json.md). The map groups world addresses by that
 * name when known. Only world ends are named: a name on an in-cluster end could describe another
 * tenant's workload.
 * @module
 */
import type { Principal } from '../auth/principal.ts';
import { SqlParams } from '../filters/index.ts';
import { type DashboardQuery, dashboardWhere } from './dashboard-query.ts';
import type { DashboardDeps } from './dashboards.ts';
import { ipText } from './owner-sql.ts';

/**
 * The commonest DNS name of each of `addresses` (address text as the topology writes it) seen as
 * a world end of the flows the query selects; addresses without a name are absent.
 */
export async function worldAddressNames(
  deps: DashboardDeps,
  q: DashboardQuery<unknown>,
  principal: Principal,
  addresses: readonly string[],
  signal?: AbortSignal,
): Promise<Map<string, string>> {
  if (addresses.length === 0) return new Map();
  const p = new SqlParams();
  const wanted = p.bind([...new Set(addresses)], 'Array(String)');
  const side = (end: 'src' | 'dst', ipCol: string, names: string) =>
    `SELECT ${ipText(ipCol)} AS address, arrayJoin(${names}) AS name FROM flows
     WHERE ${dashboardWhere(p, q, principal)} AND ${end}_scope = 'world' AND length(${names}) > 0
       AND has(${wanted}, ${ipText(ipCol)})`;
  const rows = await deps.store.query<{ address: string; name: string }>(
    `SELECT address, topK(1)(name)[1] AS name FROM (
       ${side('dst', 'destination_ip', 'destination_names')}
       UNION ALL
       ${side('src', 'source_ip', 'source_names')}
     ) GROUP BY address`,
    { params: p.values, settings: deps.settings, signal },
  );
  return new Map(rows.filter((r) => r.name).map((r) => [r.address, r.name.replace(/\.$/, '')]));
}

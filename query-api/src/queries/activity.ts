/**
 * Activity of one owner: "what else did this allocation (account, tenant) talk to in that
 * hour?". The flows where the owner held one end, in the window, aggregated by peer — the other
 * end's address and owner, the port and the protocol — with flow counts, verdicts and first/last
 * seen. The owner is matched as stored or, for ends stored as `none`, by its owner at the flow's
 * time (lateOwnerMatch), so it agrees with /flows and investigations.
 * @module
 */
import { z } from 'zod';
import type { QuerySettings, Store } from '../../../common/clickhouse/index.ts';
import { formatTimeNs } from '../../../common/time.ts';
import type { Principal } from '../auth/principal.ts';
import { lateOwnerMatch, SqlParams, timeRange } from '../filters/index.ts';
import { nameValue } from '../filters/parse.ts';
import { ipText } from './owner-sql.ts';

/** Query parameters of GET /api/v1/activity (besides since/until). */
export const activityParams = {
  alloc: nameValue.describe('An allocation id (or its name, e.g. web.app[0]).'),
  account: nameValue.describe('An account id.'),
  tenant: nameValue.describe('A tenant id.'),
  limit: z
    .string()
    .regex(/^\d{1,4}$/, 'expected 1-5000')
    .describe('Most peers listed (default 500, max 5000).'),
} as const;

/** Which owner an activity query is about. */
export interface ActivityOwner {
  kind: 'alloc' | 'account' | 'tenant';
  value: string;
}

/** One aggregated peer of the owner. */
export interface ActivityPeer {
  /** `out`: the owner sent (was the source); `in`: the owner received. */
  direction: 'out' | 'in';
  peer_ip: string;
  /** DNS names the peer was seen as (from Hubble's destination_names), when known. */
  peer_names: string[];
  peer_tenant: string;
  peer_account: string;
  peer_job: string;
  peer_alloc_name: string;
  peer_scope: string;
  /** The destination port: the peer's service when out, the owner's when in. */
  port: number;
  protocol: string;
  flows: number;
  /** Hubble flows are events and carry no byte counts: always null. */
  bytes: null;
  verdicts: Record<string, number>;
  first_seen: string;
  last_seen: string;
}

/** The answer of GET /api/v1/activity. */
export interface Activity {
  owner: ActivityOwner;
  since: string;
  until: string;
  peers: ActivityPeer[];
  /** True when there were more peers than `limit`. */
  truncated: boolean;
}

const ownerField = { alloc: 'alloc_id', account: 'account', tenant: 'tenant' } as const;

/** Aggregates the owner's peers over [sinceNs, untilNs). */
export async function ownerActivity(
  deps: { store: Store; settings: QuerySettings },
  owner: ActivityOwner,
  range: { sinceNs: bigint; untilNs: bigint },
  limit: number,
  principal: Principal,
  signal?: AbortSignal,
): Promise<Activity> {
  const p = new SqlParams();
  const v = p.bind(owner.value, 'String');
  const own = principal.role === 'tenant' ? p.bind(principal.tenant ?? '', 'String') : undefined;
  const side = (end: 'src' | 'dst') => {
    const peer = end === 'src' ? 'dst' : 'src';
    const stored =
      owner.kind === 'alloc'
        ? `(${end}_alloc_id = ${v} OR ${end}_alloc_name = ${v})`
        : `${end}_${ownerField[owner.kind]} = ${v}`;
    const late = lateOwnerMatch(
      p,
      end,
      (col) =>
        owner.kind === 'alloc'
          ? `(${col('alloc_id')} = ${v} OR ${col('alloc_name')} = ${v})`
          : `${col(ownerField[owner.kind])} = ${v}`,
      range,
    );
    // A tenant principal sees only its own ends, and other tenants' peers without names.
    const scope = own ? `AND ${end}_tenant = ${own}` : '';
    const masked = (field: string) =>
      own ? `if(${peer}_tenant = ${own}, ${peer}_${field}, '')` : `${peer}_${field}`;
    const peerIp = end === 'src' ? ipText('destination_ip') : ipText('source_ip');
    return `SELECT '${end === 'src' ? 'out' : 'in'}' AS direction, ${peerIp} AS peer_ip,
        ${end === 'src' ? 'destination_names' : 'source_names'} AS names,
        ${masked('tenant')} AS peer_tenant, ${masked('account')} AS peer_account, ${masked('job')} AS peer_job,
        ${masked('alloc_name')} AS peer_alloc_name, toString(${peer}_scope) AS peer_scope,
        destination_port AS port, toString(l4_protocol) AS protocol, toString(verdict) AS v, time
      FROM flows WHERE ${timeRange(p, range.sinceNs, range.untilNs)} AND (${stored} OR ${late}) ${scope}`;
  };
  const rows = await deps.store.query<{
    direction: 'out' | 'in';
    peer_ip: string;
    peer_names: string[];
    peer_tenant: string;
    peer_account: string;
    peer_job: string;
    peer_alloc_name: string;
    peer_scope: string;
    port: number;
    protocol: string;
    flows: string;
    verdicts: [string[], string[]];
    first_seen: string;
    last_seen: string;
  }>(
    `SELECT direction, peer_ip, arraySlice(groupUniqArrayArray(names), 1, 5) AS peer_names,
       peer_tenant, peer_account, peer_job, peer_alloc_name, peer_scope, port, protocol,
       count() AS flows, sumMap([v], [toUInt64(1)]) AS verdicts,
       formatDateTime(min(time), '%Y-%m-%dT%H:%i:%S.%fZ', 'UTC') AS first_seen,
       formatDateTime(max(time), '%Y-%m-%dT%H:%i:%S.%fZ', 'UTC') AS last_seen
     FROM (${side('src')} UNION ALL ${side('dst')})
     GROUP BY direction, peer_ip, peer_tenant, peer_account, peer_job, peer_alloc_name, peer_scope, port, protocol
     ORDER BY flows DESC, direction, peer_ip, port
     LIMIT ${limit + 1}`,
    { params: p.values, settings: deps.settings, signal },
  );
  return {
    owner,
    since: formatTimeNs(range.sinceNs),
    until: formatTimeNs(range.untilNs),
    truncated: rows.length > limit,
    peers: rows.slice(0, limit).map((r) => ({
      ...r,
      port: Number(r.port),
      flows: Number(r.flows),
      bytes: null,
      verdicts: Object.fromEntries(r.verdicts[0].map((k, i) => [k, Number(r.verdicts[1][i])])),
    })),
  };
}

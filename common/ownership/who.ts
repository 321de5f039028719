/**
 * "Who held address X at instant T": answered from the ownership table in ClickHouse (so it
 * covers history from before this process started and imported event captures), with the
 * previous and next holders of the address, for `flowtrail who` and `GET /api/v1/attribution`.
 * An address nobody held at T gives `owner: null`, never a guess.
 * @module
 */
import type { Store } from '../clickhouse/store.ts';
import { InputError } from '../errors.ts';
import type { EndConflictView } from '../flow/attribution.ts';
import { formatIpBytes, parseIpBytes } from '../net/ip.ts';
import { formatTimeNs, nowNs, parseTimeArg } from '../time.ts';
import { ownerAt } from './owner-rule.ts';
import { mergedOwnershipSql, type OwnershipRow, rowToInterval } from './persistence.ts';
import { OPEN_END_NS, type OwnerInterval } from './types.ts';

/**
 * The OWNER object of the API, the CLI and `flows --json`: who, over which interval
 * (RFC 3339 with nanoseconds; `end` null while still held), and how we know.
 */
export interface Owner {
  tenant: string;
  account: string;
  namespace: string;
  job: string;
  group: string;
  alloc_id: string;
  alloc_name: string;
  node: string;
  start: string | null;
  end: string | null;
  source: 'label' | 'ownership' | 'node' | 'cidr';
  /**
   * Present only on flow ends where netreap labels and the ownership interval disagreed: what
   * each said (the owner fields above are then the interval's identity).
   */
  conflict?: EndConflictView;
}

/** The answer of who(): exactly the `--json` / API fields. */
export interface WhoAnswer {
  ip: string;
  at: string;
  owner: Owner | null;
  previous: Owner | null;
  next: Owner | null;
}

/** Renders an interval as an OWNER object. */
export function ownerOf(
  iv: OwnerInterval,
  source: Owner['source'] = iv.kind === 'node' ? 'node' : 'ownership',
): Owner {
  return {
    tenant: iv.tenant,
    account: iv.account,
    namespace: iv.namespace,
    job: iv.job,
    group: iv.group,
    alloc_id: iv.allocId,
    alloc_name: iv.allocName,
    node: iv.nodeName,
    start: formatTimeNs(iv.start),
    end: iv.end >= OPEN_END_NS ? null : formatTimeNs(iv.end),
    source,
  };
}

/** Canonical address text, or an InputError naming the parameter. */
export function canonicalIp(ip: string): string {
  const b = parseIpBytes(ip.trim());
  if (!b) throw new InputError(`invalid IP address "${ip}"`, 'ip');
  return formatIpBytes(b);
}

/** Every merged interval of the given addresses, sorted by address then start. */
export async function intervalsFor(store: Store, ips: readonly string[]): Promise<OwnerInterval[]> {
  if (ips.length === 0) return [];
  // One address (who): an equality on the primary-key prefix; several (a page of flows): IN.
  const where = ips.length === 1 ? 'address = toIPv6({ip:String})' : 'address IN {ips:Array(IPv6)}';
  const rows = await store.query<OwnershipRow>(
    `SELECT * FROM (${mergedOwnershipSql(where)}) ORDER BY address, start_ns`,
    { params: ips.length === 1 ? { ip: ips[0] } : { ips } },
  );
  return rows.map(rowToInterval);
}

/**
 * Picks owner (by the one owner rule, owner-rule.ts), previous and next allocation among one
 * address's intervals (sorted by start) at `at`.
 */
export function pickOwners(
  intervals: readonly OwnerInterval[],
  at: bigint,
): {
  owner: OwnerInterval | undefined;
  previous: OwnerInterval | undefined;
  next: OwnerInterval | undefined;
} {
  const allocs = intervals.filter((iv) => iv.kind === 'alloc');
  const owner = ownerAt(intervals, at);
  let previous: OwnerInterval | undefined;
  for (const iv of allocs) {
    if (iv === owner) continue;
    const before = owner ? iv.start < owner.start : iv.start <= at;
    if (before && (!previous || iv.start >= previous.start)) previous = iv;
  }
  const next = allocs.find((iv) => iv.start > at);
  return { owner, previous, next };
}

/** How far around the instant the labels fallback looks for labelled flows: five minutes. */
const LABEL_WINDOW_NS = 300_000_000_000n;

/**
 * The owner according to netreap labels on stored flows, for when the ownership table has no
 * interval (the Nomad API was unreachable, or history predates Flowtrail). It answers only
 * with evidence around `at`: labelled flows of this address within five minutes both at or
 * before and at or after `at`, all with one identity; the interval is the span of those flows.
 * Anything less is no answer.
 */
export async function labelOwner(store: Store, address: string, at: bigint): Promise<Owner | null> {
  const rows = await store.query<{
    tenant: string;
    account: string;
    namespace: string;
    job: string;
    group: string;
    node: string;
    first_ns: string;
    last_ns: string;
  }>(
    `SELECT tenant, account, namespace, job, \`group\`, any(node) AS node,
       toString(toUnixTimestamp64Nano(min(t))) AS first_ns, toString(toUnixTimestamp64Nano(max(t))) AS last_ns
     FROM (
       SELECT time AS t, src_tenant AS tenant, src_account AS account, src_namespace AS namespace, src_job AS job,
              src_group AS \`group\`, src_node AS node
       FROM flows WHERE source_ip = toIPv6({ip:String}) AND src_source = 'label' AND time BETWEEN fromUnixTimestamp64Nano({from:Int64}, 'UTC') AND fromUnixTimestamp64Nano({to:Int64}, 'UTC')
       UNION ALL
       SELECT time, dst_tenant, dst_account, dst_namespace, dst_job, dst_group, dst_node
       FROM flows WHERE destination_ip = toIPv6({ip:String}) AND dst_source = 'label' AND time BETWEEN fromUnixTimestamp64Nano({from:Int64}, 'UTC') AND fromUnixTimestamp64Nano({to:Int64}, 'UTC')
     )
     GROUP BY tenant, account, namespace, job, \`group\`
     LIMIT 2`,
    {
      params: { ip: address, from: (at - LABEL_WINDOW_NS).toString(), to: (at + LABEL_WINDOW_NS).toString() },
    },
  );
  if (rows.length !== 1) return null; // nothing, or two identities: no answer rather than a guess
  const r = rows[0]!;
  const first = BigInt(r.first_ns);
  const last = BigInt(r.last_ns);
  if (first > at || last < at) return null;
  return {
    tenant: r.tenant,
    account: r.account,
    namespace: r.namespace,
    job: r.job,
    group: r.group,
    alloc_id: '',
    alloc_name: '',
    node: r.node,
    start: formatTimeNs(first),
    end: formatTimeNs(last),
    source: 'label',
  };
}

/**
 * Who held `ip` at `at` (Unix ns), from ClickHouse: the ownership interval containing `at`
 * (or a node's host address), else the labels fallback. Throws InputError for a bad address.
 */
export async function who(store: Store, ip: string, at: bigint): Promise<WhoAnswer> {
  const address = canonicalIp(ip);
  const intervals = await intervalsFor(store, [address]);
  const { owner, previous, next } = pickOwners(intervals, at);
  return {
    ip: address,
    at: formatTimeNs(at),
    owner: owner ? ownerOf(owner) : await labelOwner(store, address, at),
    previous: previous ? ownerOf(previous) : null,
    next: next ? ownerOf(next) : null,
  };
}

/**
 * The service behind `GET /api/v1/attribution?ip=&at=`: takes the raw query values, rejects bad
 * ones with an InputError naming the parameter (the API maps it to 400), and answers who().
 * `at` accepts what parseTimeArg accepts and defaults to now.
 */
export async function attributionLookup(
  store: Store,
  query: { ip?: unknown; at?: unknown },
  now: bigint = nowNs(),
): Promise<WhoAnswer> {
  if (typeof query.ip !== 'string' || query.ip.trim() === '') throw new InputError('ip is required', 'ip');
  if (query.at !== undefined && typeof query.at !== 'string') throw new InputError('at must be a time', 'at');
  const at = query.at === undefined || query.at === '' ? now : parseTimeArg(query.at, now);
  return who(store, query.ip, at);
}

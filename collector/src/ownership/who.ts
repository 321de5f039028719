/**
 * "Who held address X at instant T": answered from the ownership table in ClickHouse (so it
 * covers history from before this process started and imported event captures), with the
 * previous and next holders of the address, for `flowtrail who` and `GET /api/v1/attribution`.
 * An address nobody held at T gives `owner: null`, never a guess.
 * @module
 */
import type { Store } from '../../../common/clickhouse/store.ts';
import { InputError } from '../../../common/errors.ts';
import { formatIpBytes, parseIpBytes } from '../../../common/net/ip.ts';
import { formatTimeNs, nowNs, parseTimeArg } from '../../../common/time.ts';
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

/** Picks owner, previous and next among one address's intervals (sorted by start) at `at`. */
export function pickOwners(
  intervals: readonly OwnerInterval[],
  at: bigint,
): {
  owner: OwnerInterval | undefined;
  previous: OwnerInterval | undefined;
  next: OwnerInterval | undefined;
} {
  const allocs = intervals.filter((iv) => iv.kind === 'alloc');
  let owner: OwnerInterval | undefined;
  for (const iv of allocs)
    if (iv.start <= at && at < iv.end && (!owner || iv.start >= owner.start)) owner = iv;
  let previous: OwnerInterval | undefined;
  for (const iv of allocs) {
    if (iv === owner) continue;
    const before = owner ? iv.start < owner.start : iv.start <= at;
    if (before && (!previous || iv.start >= previous.start)) previous = iv;
  }
  const next = allocs.find((iv) => iv.start > at);
  if (!owner) {
    for (const iv of intervals) if (iv.kind === 'node' && iv.start <= at && at < iv.end) owner = iv;
  }
  return { owner, previous, next };
}

/** Who held `ip` at `at` (Unix ns), from ClickHouse. Throws InputError for a bad address. */
export async function who(store: Store, ip: string, at: bigint): Promise<WhoAnswer> {
  const address = canonicalIp(ip);
  const intervals = await intervalsFor(store, [address]);
  const { owner, previous, next } = pickOwners(intervals, at);
  return {
    ip: address,
    at: formatTimeNs(at),
    owner: owner ? ownerOf(owner) : null,
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

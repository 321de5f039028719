/**
 * Ownership intervals in ClickHouse (`migrations/0010_ownership.sql`). Each write is the full
 * merged interval; readers fold rows of one interval with min(start), min(end) and the latest
 * non-empty descriptive fields, so duplicate writes and unmerged parts never change an answer.
 * @module
 */
import type { Store } from '../clickhouse/store.ts';
import { formatIpBytes, parseIpBytes } from '../net/ip.ts';
import { nowNs } from '../time.ts';
import type { OwnerInterval, OwnerKind } from './types.ts';

const latest = (col: string) => `argMaxIf(${col}, nomad_index, ${col} != '')`;

/**
 * A subquery (no trailing semicolon) yielding one merged row per interval, with times as
 * Int64 nanoseconds: columns address, kind, alloc_id, alloc_name, namespace, job, group,
 * node_id, node_name, tenant, account, start_ns, end_ns, start, end, nomad_index.
 * `where` filters raw rows (e.g. on address) before the merge; it may use bound parameters.
 */
export function mergedOwnershipSql(where = '1'): string {
  // Aggregates get suffixed names inside, then the outer SELECT restores the column names:
  // an alias equal to a source column would be read back inside the other aggregates.
  return `SELECT address, kind, alloc_id, alloc_name_m AS alloc_name, namespace_m AS namespace, job_m AS job,
    group_m AS \`group\`, node_id, node_name_m AS node_name, tenant_m AS tenant, account_m AS account,
    start_m AS start, end_m AS \`end\`, toUnixTimestamp64Nano(start_m) AS start_ns,
    toUnixTimestamp64Nano(end_m) AS end_ns, nomad_index_m AS nomad_index
  FROM (
    SELECT address, kind, alloc_id, node_id,
      ${latest('alloc_name')} AS alloc_name_m, ${latest('namespace')} AS namespace_m, ${latest('job')} AS job_m,
      ${latest('`group`')} AS group_m, ${latest('node_name')} AS node_name_m,
      ${latest('tenant')} AS tenant_m, ${latest('account')} AS account_m,
      min(start) AS start_m, min(\`end\`) AS end_m, max(nomad_index) AS nomad_index_m
    FROM ownership WHERE ${where}
    GROUP BY address, kind, alloc_id, node_id
  )`;
}

/** A merged row as JSON output gives it (64-bit integers as strings). */
export interface OwnershipRow {
  address: string;
  kind: OwnerKind;
  alloc_id: string;
  alloc_name: string;
  namespace: string;
  job: string;
  group: string;
  node_id: string;
  node_name: string;
  tenant: string;
  account: string;
  start_ns: string;
  end_ns: string;
  nomad_index: string;
}

/**
 * Canonical text of an address (`::ffff:10.0.0.1` → `10.0.0.1`, `fd00:0::5` → `fd00::5`), the
 * form Hubble prints and the in-memory index is keyed by; '' when the text is not an address.
 */
export function canonicalAddress(text: string): string {
  const b = parseIpBytes(text);
  return b ? formatIpBytes(b) : '';
}

/** Turns a merged row into an interval. */
export function rowToInterval(r: OwnershipRow): OwnerInterval {
  return {
    address: canonicalAddress(r.address),
    kind: r.kind,
    allocId: r.alloc_id,
    allocName: r.alloc_name,
    namespace: r.namespace,
    job: r.job,
    group: r.group,
    nodeId: r.node_id,
    nodeName: r.node_name,
    tenant: r.tenant,
    account: r.account,
    start: BigInt(r.start_ns),
    end: BigInt(r.end_ns),
    nomadIndex: BigInt(r.nomad_index),
  };
}

/** Reads every interval, merged (the tracker's state at start). */
export async function loadIntervals(store: Store): Promise<OwnerInterval[]> {
  const out: OwnerInterval[] = [];
  for await (const batch of store.queryBatches<OwnershipRow>(mergedOwnershipSql())) {
    for (const r of batch) out.push(rowToInterval(r));
  }
  return out;
}

/** Writes intervals (their full merged state). */
export async function writeIntervals(store: Store, intervals: readonly OwnerInterval[]): Promise<void> {
  if (intervals.length === 0) return;
  const recordedAt = nowNs().toString();
  await store.insertJson(
    'ownership',
    intervals.map((iv) => ({
      address: iv.address,
      kind: iv.kind,
      alloc_id: iv.allocId,
      alloc_name: iv.allocName,
      namespace: iv.namespace,
      job: iv.job,
      group: iv.group,
      node_id: iv.nodeId,
      node_name: iv.nodeName,
      tenant: iv.tenant,
      account: iv.account,
      start: iv.start.toString(),
      end: iv.end.toString(),
      nomad_index: iv.nomadIndex.toString(),
      recorded_at: recordedAt,
    })),
  );
}

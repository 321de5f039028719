/**
 * How stored flows leave ClickHouse for the API: the column list selected for each row (the
 * Flow as ingested, base64, plus both ends' stored attribution), and the conversion of a row to
 * the line `flowtrail flows --json` prints: a Hubble JSON line (`{"flow":…,"node_name":…,
 * "time":…}`) with `"attribution":{"source":OWNER|null,"destination":OWNER|null}` appended.
 * @module
 */

import type { Store } from '../../../common/clickhouse/index.ts';
import { decodeConflict, type EndConflictView } from '../../../common/flow/attribution.ts';
import { endOwnerFields } from '../../../common/ownership/owner-rule.ts';
import { attributeFlowEnds, type StoredEnd } from '../../../common/ownership/reattribute.ts';
import type { Owner } from '../../../common/ownership/who.ts';
import {
  flowDenseColumns,
  flowRestoreColumns,
  restoreFlow,
  type StoredFlowRow,
} from '../../../common/schema/flow-restore.ts';
import type { Flow } from '../../../proto/gen/flow/flow.ts';
import type { GetFlowsResponse } from '../../../proto/gen/observer/observer.ts';
import { toHubbleJson, toHubbleJsonLine } from '../../../proto/src/hubble-json.ts';
import type { Principal } from '../auth/principal.ts';
import { ownsEnd, redactFlow } from '../auth/redact.ts';

const ownerFields = endOwnerFields;

/** The SELECT list of a flow row around `restore` (the columns that rebuild the Flow). */
const rowColumns = (restore: string) =>
  [
    'toString(toUnixTimestamp64Nano(time)) AS time_ns',
    // Aliases never equal a column name: ClickHouse would resolve WHERE/ORDER BY to the alias.
    'lower(hex(flow_id)) AS id_hex',
    'node_name',
    // Address text of each end, for query-time attribution (attributeFlowEnds).
    'IPv6NumToString(source_ip) AS src_ip_text',
    'IPv6NumToString(destination_ip) AS dst_ip_text',
    restore,
    // Labels vs ownership disagreements recorded at ingest (JSON, common/flow/attribution.ts).
    'attribution_conflict AS conflict_text',
    ...['src', 'dst'].flatMap((e) => [
      ...ownerFields.map((f) => `${e}_${f}`),
      `toString(${e}_source) AS ${e}_source`,
      `toString(${e}_scope) AS ${e}_scope`,
    ]),
  ].join(', ');

/** The SELECT list of a flow row (64-bit time as a string, the columns that rebuild the Flow). */
export const flowRowColumns = rowColumns(flowRestoreColumns);

/**
 * The SELECT list of a row of a listing page: flowRowColumns without the sparse groups, which
 * readSparseColumns then reads for the rows that have any.
 */
export const flowPageColumns = rowColumns(flowDenseColumns);

/** One row as selected with flowRowColumns. */
export type FlowRow = {
  time_ns: string;
  id_hex: string;
  node_name: string;
  conflict_text: string;
} & StoredFlowRow &
  Record<`${'src' | 'dst'}_${(typeof ownerFields)[number] | 'source' | 'scope' | 'ip_text'}`, string>;

/** The owner of one end as the API shows it: the `who` OWNER shape (collector/src/ownership/who.ts). */
export type { Owner };

/** Both ends' owners. */
export interface FlowAttributionView {
  source: Owner | null;
  destination: Owner | null;
}

function storedEnd(row: FlowRow, end: 'src' | 'dst'): StoredEnd {
  const source = row[`${end}_source`];
  const conflict = row.conflict_text ? decodeConflict(row.conflict_text) : undefined;
  return {
    conflict: conflict?.[end === 'src' ? 'source' : 'destination'],
    ip: row[`${end}_ip_text`],
    timeNs: BigInt(row.time_ns),
    tenant: row[`${end}_tenant`],
    account: row[`${end}_account`],
    namespace: row[`${end}_namespace`],
    job: row[`${end}_job`],
    group: row[`${end}_group`],
    allocId: row[`${end}_alloc_id`],
    allocName: row[`${end}_alloc_name`],
    node: row[`${end}_node`],
    source: source === '' ? 'none' : (source as StoredEnd['source']),
  };
}

/**
 * What `principal` may see of an end's owner: a tenant sees only its own tenant's owners, and
 * of a conflict only which fields disagreed (the labels may name another tenant).
 */
function visible(o: Owner | null, principal: Principal): Owner | null {
  if (!o || !ownsEnd(principal, o.tenant)) return null;
  if (principal.role === 'tenant' && o.conflict) return { ...o, conflict: conflictForTenant(o.conflict) };
  return o;
}

function conflictForTenant(c: EndConflictView): EndConflictView {
  return 'fields' in c ? { description: `labels and ownership disagree on ${c.fields.join(', ')}` } : c;
}

/**
 * The attribution of each row of a page as `principal` may see it, in row order. Owners come
 * from attributeFlowEnds, with one ownership query for the whole page (never one per row): ends
 * stored as `none` but owned at the flow's time are attributed with source `ownership`, and
 * every owner carries its interval (`start`, `end`) when the ownership table has it.
 */
export async function attributeRows(
  store: Store,
  rows: readonly FlowRow[],
  principal: Principal,
): Promise<FlowAttributionView[]> {
  if (rows.length === 0) return [];
  const owners = await attributeFlowEnds(
    store,
    rows.flatMap((r) => [storedEnd(r, 'src'), storedEnd(r, 'dst')]),
  );
  return rows.map((_, i) => ({
    source: visible(owners[2 * i] ?? null, principal),
    destination: visible(owners[2 * i + 1] ?? null, principal),
  }));
}

/** Decodes the stored Flow of a row: exactly the Flow that was ingested. */
export function rowFlow(row: StoredFlowRow): Flow {
  return restoreFlow(row);
}

/** The GetFlowsResponse a row stands for (what the Hubble API and JSON lines carry). */
export function rowResponse(row: FlowRow, flow: Flow = rowFlow(row)): GetFlowsResponse {
  return { flow, node_name: row.node_name, time: flow.time };
}

/**
 * The NDJSON line of a row, without the newline: Hubble's exact text plus `attribution` (as
 * attributeRows resolved it for the row's page).
 */
export function rowToLine(row: FlowRow, attribution: FlowAttributionView, principal: Principal): string {
  const hubble = toHubbleJsonLine(rowResponse(row, visibleFlow(row, attribution, principal)));
  return `${hubble.slice(0, -1)},"attribution":${JSON.stringify(attribution)}}`;
}

/** The same content as rowToLine, as an object (for JSON pages). */
export function rowToObject(
  row: FlowRow,
  attribution: FlowAttributionView,
  principal: Principal,
): Record<string, unknown> {
  return { ...toHubbleJson(rowResponse(row, visibleFlow(row, attribution, principal))), attribution };
}

/** The row's Flow with what a tenant may not see of a peer it doesn't own removed (auth/redact.ts). */
function visibleFlow(row: FlowRow, attribution: FlowAttributionView, principal: Principal): Flow {
  return redactFlow(rowFlow(row), principal, {
    source: attribution.source !== null,
    destination: attribution.destination !== null,
  });
}

/** A page of rows as JSON objects, attributed with one ownership query (attributeRows). */
export async function rowsToObjects(
  store: Store,
  rows: readonly FlowRow[],
  principal: Principal,
): Promise<Record<string, unknown>[]> {
  const views = await attributeRows(store, rows, principal);
  return rows.map((r, i) => rowToObject(r, views[i]!, principal));
}

/** A page of rows as NDJSON lines (no newlines), attributed with one ownership query. */
export async function rowsToLines(
  store: Store,
  rows: readonly FlowRow[],
  principal: Principal,
): Promise<string[]> {
  const views = await attributeRows(store, rows, principal);
  return rows.map((r, i) => rowToLine(r, views[i]!, principal));
}

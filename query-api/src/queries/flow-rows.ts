/**
 * How stored flows leave ClickHouse for the API: the column list selected for each row (the
 * Flow as ingested, base64, plus both ends' stored attribution), and the conversion of a row to
 * the line `flowtrail flows --json` prints: a Hubble JSON line (`{"flow":…,"node_name":…,
 * "time":…}`) with `"attribution":{"source":OWNER|null,"destination":OWNER|null}` appended.
 * @module
 */
import { flowRestoreColumns, restoreFlow, type StoredFlowRow } from '../../../common/schema/flow-restore.ts';
import type { Flow } from '../../../proto/gen/flow/flow.ts';
import type { GetFlowsResponse } from '../../../proto/gen/observer/observer.ts';
import { toHubbleJson, toHubbleJsonLine } from '../../../proto/src/hubble-json.ts';
import type { Principal } from '../auth/principal.ts';

const ownerFields = [
  'tenant',
  'account',
  'namespace',
  'job',
  'group',
  'alloc_id',
  'alloc_name',
  'node',
] as const;

/** The SELECT list of a flow row (64-bit time as a string, the columns that rebuild the Flow). */
export const flowRowColumns = [
  'toString(toUnixTimestamp64Nano(time)) AS time_ns',
  // Aliases never equal a column name: ClickHouse would resolve WHERE/ORDER BY to the alias.
  'lower(hex(flow_id)) AS id_hex',
  'node_name',
  flowRestoreColumns,
  ...['src', 'dst'].flatMap((e) => [
    ...ownerFields.map((f) => `${e}_${f}`),
    `toString(${e}_source) AS ${e}_source`,
    `toString(${e}_scope) AS ${e}_scope`,
  ]),
].join(', ');

/** One row as selected with flowRowColumns. */
export type FlowRow = {
  time_ns: string;
  id_hex: string;
  node_name: string;
} & StoredFlowRow &
  Record<`${'src' | 'dst'}_${(typeof ownerFields)[number] | 'source' | 'scope'}`, string>;

/** The owner of one end as the API shows it (the `who` OWNER shape). */
export interface Owner {
  tenant: string;
  account: string;
  namespace: string;
  job: string;
  group: string;
  alloc_id: string;
  alloc_name: string;
  node: string;
  /** Start of the ownership interval (RFC 3339), when known. */
  start: string | null;
  /** End of the ownership interval, when known and closed. */
  end: string | null;
  /** How the owner was found: label, ownership, node, cidr. */
  source: string;
}

/** Both ends' owners. */
export interface FlowAttributionView {
  source: Owner | null;
  destination: Owner | null;
}

function owner(row: FlowRow, end: 'src' | 'dst', principal: Principal): Owner | null {
  if (row[`${end}_source`] === 'none' || row[`${end}_source`] === '') return null;
  // A tenant principal sees the other end's owner only when it is its own tenant.
  if (principal.role === 'tenant' && row[`${end}_tenant`] !== principal.tenant) return null;
  return {
    tenant: row[`${end}_tenant`],
    account: row[`${end}_account`],
    namespace: row[`${end}_namespace`],
    job: row[`${end}_job`],
    group: row[`${end}_group`],
    alloc_id: row[`${end}_alloc_id`],
    alloc_name: row[`${end}_alloc_name`],
    node: row[`${end}_node`],
    start: null,
    end: null,
    source: row[`${end}_source`],
  };
}

/** The attribution of a row as `principal` may see it. */
export function rowAttribution(row: FlowRow, principal: Principal): FlowAttributionView {
  return { source: owner(row, 'src', principal), destination: owner(row, 'dst', principal) };
}

/** Decodes the stored Flow of a row: exactly the Flow that was ingested. */
export function rowFlow(row: StoredFlowRow): Flow {
  return restoreFlow(row);
}

/** The GetFlowsResponse a row stands for (what the Hubble API and JSON lines carry). */
export function rowResponse(row: FlowRow, flow: Flow = rowFlow(row)): GetFlowsResponse {
  return { flow, node_name: row.node_name, time: flow.time };
}

/** The NDJSON line of a row, without the newline: Hubble's exact text plus `attribution`. */
export function rowToLine(row: FlowRow, principal: Principal): string {
  const hubble = toHubbleJsonLine(rowResponse(row));
  return `${hubble.slice(0, -1)},"attribution":${JSON.stringify(rowAttribution(row, principal))}}`;
}

/** The same content as rowToLine, as an object (for JSON pages). */
export function rowToObject(row: FlowRow, principal: Principal): Record<string, unknown> {
  return { ...toHubbleJson(rowResponse(row)), attribution: rowAttribution(row, principal) };
}

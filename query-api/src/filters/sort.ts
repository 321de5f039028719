/**
 * The columns a flows request may sort by (`sort=`), each with its SQL expression and how a
 * cursor's text value is bound back for keyset paging. A whitelist: the request names a key,
 * never SQL, and cursor values are always bound as typed parameters.
 * @module
 */
import type { SqlParams } from '../../../common/clickhouse/sql-params.ts';

/** One sortable column. */
interface SortColumn {
  /** The ORDER BY expression (a stored column, so the sort needs no per-row work). */
  expr: string;
  /** The SQL of a cursor value (the text `toString(expr)` gave) as a bound parameter. */
  bind(p: SqlParams, text: string): string;
}

const ip = (column: string): SortColumn => ({
  expr: column,
  bind: (p, text) => `toIPv6(${p.bind(text, 'String')})`,
});
const uint16 = (column: string): SortColumn => ({
  expr: column,
  bind: (p, text) => p.bind(Number(text), 'UInt16'),
});

/** Sort keys other than time (the default; time and flow_id always break ties). */
export const flowSortColumns = {
  src_ip: ip('source_ip'),
  dst_ip: ip('destination_ip'),
  src_port: uint16('source_port'),
  dst_port: uint16('destination_port'),
  // By name, not by the enum's number, so the order reads alphabetically.
  verdict: { expr: 'toString(verdict)', bind: (p, text) => p.bind(text, 'String') },
  type: { expr: 'event_type', bind: (p, text) => p.bind(Number(text), 'Int32') },
} satisfies Record<string, SortColumn>;

/** A sort key: `time` or a column of flowSortColumns. */
export type FlowSortKey = 'time' | keyof typeof flowSortColumns;

/** Every sort key, `time` first (the OpenAPI enum and the validator). */
export const flowSortKeys = ['time', ...Object.keys(flowSortColumns)] as [FlowSortKey, ...FlowSortKey[]];

/** The expression of a non-time key. */
export function sortColumn(key: Exclude<FlowSortKey, 'time'>): SortColumn {
  return flowSortColumns[key];
}

/** Checks a cursor's sort value has the shape its key stores (bound as that type later). */
export function validSortValue(key: FlowSortKey, text: string): boolean {
  switch (key) {
    case 'src_port':
    case 'dst_port':
      return /^\d{1,5}$/.test(text) && Number(text) <= 65_535;
    case 'type':
      return /^-?\d{1,10}$/.test(text);
    case 'time':
      return false;
    default:
      return text.length <= 64;
  }
}

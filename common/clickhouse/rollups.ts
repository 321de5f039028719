/**
 * The minute rollups of `flows` (migrations 0041, 0042 and 0043), as data: which owner fields of each
 * end and which flow columns each keeps. Two readers need exactly this list: the correction job
 * (common/ownership/correct.ts), which moves late-attributed counts in every rollup with -n/+n
 * rows, and the aggregate planner (query-api/src/queries/rollup.ts), which answers from the
 * narrowest rollup holding every column a question reads. Each rollup is a SummingMergeTree with
 * a signed `flows` counter and a `time` alias of `minute`.
 * @module
 */

/** One rollup table. */
export interface RollupTable {
  name: string;
  /** Owner fields kept for both ends (`src_<field>`, `dst_<field>`). */
  ownerFields: readonly string[];
  /** Flow columns kept as they are, besides the owner fields and `minute`. */
  flowColumns: readonly string[];
}

/** Narrowest first: the planner takes the first that holds a question's columns. */
export const rollupTables: readonly RollupTable[] = [
  {
    // No owners: nothing for a correction to move (common/ownership/correct.ts skips it).
    name: 'flows_minute_core',
    ownerFields: [],
    flowColumns: [
      'src_scope',
      'dst_scope',
      'verdict',
      'drop_reason_desc',
      'l4_protocol',
      'l7_protocol',
      'destination_port',
    ],
  },
  {
    name: 'flows_minute',
    ownerFields: ['tenant', 'account', 'alloc_id'],
    flowColumns: ['src_scope', 'dst_scope', 'verdict', 'drop_reason_desc', 'l4_protocol', 'destination_port'],
  },
  {
    name: 'flows_minute_detail',
    ownerFields: ['tenant', 'account', 'namespace', 'job', 'alloc_id', 'alloc_name'],
    flowColumns: [
      'src_scope',
      'dst_scope',
      'node_name',
      'verdict',
      'drop_reason_desc',
      'l4_protocol',
      'l7_protocol',
      'destination_port',
    ],
  },
];

/** Every dimension column of a rollup (owner columns of both ends, then the flow columns). */
export function rollupDimensions(t: RollupTable): string[] {
  return [...['src', 'dst'].flatMap((e) => t.ownerFields.map((f) => `${e}_${f}`)), ...t.flowColumns];
}

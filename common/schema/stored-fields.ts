/**
 * Which Flow fields a row holds in columns instead of `flow_extra` (the `stored_fields` bit set).
 * A field moves into columns only when the columns give it back exactly for that flow (an enum
 * number the column can't hold, a non-canonical address, an unknown L4 variant stay in
 * flow_extra), so restoring a row always yields the Flow that was ingested.
 * Scalars whose columns are always exact (names of enums, counters, strings) need no bit.
 * @module
 */

/** Bit per Flow field (or group of fields) held in columns. Append only: rows on disk use these. */
export const StoredField = {
  time: 1 << 0,
  uuid: 1 << 1,
  verdict: 1 << 2,
  authType: 1 << 3,
  ethernet: 1 << 4,
  ip: 1 << 5,
  l4: 1 << 6,
  tcpFlags: 1 << 7,
  source: 1 << 8,
  destination: 1 << 9,
  type: 1 << 10,
  nodeName: 1 << 11,
  eventType: 1 << 12,
  sourceService: 1 << 13,
  destinationService: 1 << 14,
  trafficDirection: 1 << 15,
  l7: 1 << 16,
  interface: 1 << 17,
  emitter: 1 << 18,
  traceContext: 1 << 19,
} as const;

/**
 * Bit per group of columns that most flows leave empty, set in `sparse_fields` (a column ClickHouse
 * computes on insert, migrations/0190) when any column of the group holds a value. A listing reads
 * these groups only for the rows that have them (flowDenseColumns, sparseColumnsSql). Append only:
 * rows on disk use these, and migrations/0190 spells out which columns each bit looks at.
 */
export const SparseField = {
  icmp: 1 << 0,
  names: 1 << 1,
  services: 1 << 2,
  nodeLabels: 1 << 3,
  l7: 1 << 4,
  interface: 1 << 5,
  socket: 1 << 6,
  traceContext: 1 << 7,
  extra: 1 << 8,
} as const;

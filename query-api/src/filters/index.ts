/**
 * Flow queries over the `flows` table: request parameters → FlowQuery (the filters in the one filter
 * language of common/filter), then the WHERE clause with tenant scope and owner filters.
 * @module
 */
export { SqlParams } from '../../../common/clickhouse/sql-params.ts';
export { and, or } from '../../../common/filter/index.ts';
export { decodeCursor, encodeCursor, type FlowCursor } from './cursor.ts';
export {
  heldAddressesSql,
  lateEndAddressesSql,
  lateOwnerFields,
  lateOwnerMatch,
  lateOwnersSql,
  type OwnerEnd,
  type TimeBounds,
} from './late-owner.ts';
export {
  defaultFlowQueryBounds,
  type FlowFormat,
  type FlowQuery,
  type FlowQueryBounds,
  flowControlParams,
  flowFilterNames,
  flowFormats,
  isNarrowed,
  parseFlowFilters,
  parseFlowQuery,
  parseParam,
  parseTimeRange,
  type RawParams,
} from './parse.ts';
export { type FlowSortKey, flowSortKeys, sortColumn } from './sort.ts';
export {
  assertOwnTenantFilter,
  type FlowWhereInput,
  filtersToSql,
  flowQueryToSql,
  type LateMode,
  lateCandidatesApply,
  namesLateOwners,
  ownEnds,
  ownerFiltersSql,
  type SqlWhere,
  tenantScope,
  timeRange,
} from './where.ts';

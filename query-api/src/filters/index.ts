/**
 * The flow filter language shared by the HTTP API, the gRPC API and `flowtrail flows`:
 * parse parameters into a typed FlowQuery, then turn it into a WHERE clause.
 * @module
 */
export { type FlowFilterName, type FlowFilters, flowFilterCatalog, flowFilterNames } from './catalog.ts';
export { decodeCursor, encodeCursor, type FlowCursor } from './cursor.ts';
export {
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
  flowFormats,
  isNarrowed,
  parseFlowFilters,
  parseFlowQuery,
  parseParam,
  parseTimeRange,
  type RawParams,
} from './parse.ts';
export { and, anyIn, enumIn, ipIn, or, protocolIn, type Side } from './predicates.ts';
export { filtersToSql, flowQueryToSql, type SqlWhere, tenantScope, timeRange } from './sql.ts';
export { SqlParams } from './sql-params.ts';

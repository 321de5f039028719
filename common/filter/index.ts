/**
 * @module The one flow filter language. Hubble's FlowFilter is the model: `hubble observe` flags, REST
 * parameters and `flowtrail flows` flags become FlowFilter whitelists/blacklists (args.ts, as the stock
 * CLI builds them) plus Flowtrail's owner filters; gRPC callers send FlowFilters directly. Each FlowFilter
 * is parsed once into typed values (parse.ts) and compiled from that parse into an in-memory predicate
 * (match.ts) or ClickHouse SQL over `flows` (sql.ts). Semantics: a flow passes when the whitelist is
 * empty or ANY whitelist filter matches, and NO blacklist filter matches; inside one FlowFilter every
 * set field must match (AND); inside one field any value may (OR). Regexes are RE2 (regex.ts).
 */
import type { FlowFilter } from '../../proto/gen/flow/flow.js';
import type { EndOwnerFilters, FlowFilterSet, OwnerFilters } from './args.ts';
import { type FlowPredicate, filterSetPredicate, flowFilterPredicate } from './match.ts';
import { type ParsedFlowFilter, parseFlowFilter } from './parse.ts';

export {
  type EndOwnerFilters,
  FilterSetBuilder,
  type FlowFilterSet,
  filterSetFromArgs,
  filterSetFromParams,
  isFilterParam,
  type OwnerFilters,
  type RawParams,
} from './args.ts';
export { FlowFilterError } from './errors.ts';
export { flowFilter } from './flow-filter.ts';
export { type FlowPredicate, filterSetPredicate, flowFilterPredicate } from './match.ts';
export {
  type ParsedFlowFilter,
  type ParsedSide,
  parseFlowFilter,
  SUPPORTED_FLOW_FILTER_FIELDS,
} from './parse.ts';
export {
  type AddressKeys,
  addressKeysInSql,
  addressKeysSql,
  addressLookupSql,
  and,
  type FilterSqlOptions,
  filterSetSql,
  flowFilterSql,
  inBoundArray,
  ipInSql,
  type OwnEnds,
  or,
  type SqlTimeRange,
} from './sql.ts';
export {
  FILTER_ALIASES,
  FILTER_WORDS,
  type FilterWord,
  type FilterWordName,
} from './vocabulary.ts';

/** A filter set with every FlowFilter parsed. */
export interface ParsedFilterSet {
  whitelist: ParsedFlowFilter[];
  blacklist: ParsedFlowFilter[];
  owner: OwnerFilters;
}

/** Parses every FlowFilter of a set (throws FlowFilterError on a bad value). */
export function parseFilterSet(set: FlowFilterSet): ParsedFilterSet {
  return {
    whitelist: set.whitelist.map(parseFlowFilter),
    blacklist: set.blacklist.map(parseFlowFilter),
    owner: set.owner,
  };
}

/**
 * True when the owner filters name an owner (tenant, account, job or allocation) at either end or
 * at one end (`from-`/`to-`): what re-attributes ends at query time, and narrows a scan.
 */
export function namesOwner(o: OwnerFilters): boolean {
  const owned = (e: EndOwnerFilters | undefined) =>
    !!e && [e.tenant, e.account, e.job, e.alloc].some((v) => v && v.length > 0);
  return owned(o) || owned(o.source) || owned(o.destination);
}

/** True when the set narrows a scan to addresses, pods or owners (what allows a long time range). */
export function isNarrowed(set: ParsedFilterSet): boolean {
  if (namesOwner(set.owner)) return true;
  const narrow = (f: ParsedFlowFilter) =>
    !!(f.source.ip || f.destination.ip || f.ipXlated) ||
    [...(f.source.pod ?? []), ...(f.destination.pod ?? [])].some((p) => p.prefix !== '');
  return set.whitelist.length > 0 && set.whitelist.every(narrow);
}

/** Compiles one FlowFilter into a predicate that is true when every set field matches. */
export function compileFlowFilter(filter: FlowFilter): FlowPredicate {
  return flowFilterPredicate(parseFlowFilter(filter));
}

/**
 * Compiles a GetFlowsRequest's whitelist and blacklist once: a flow passes when the whitelist is empty or
 * any whitelist filter matches, and no blacklist filter matches. Throws FlowFilterError on bad input.
 */
export function compileFlowFilters(
  whitelist: readonly FlowFilter[],
  blacklist: readonly FlowFilter[],
): FlowPredicate {
  return filterSetPredicate(whitelist.map(parseFlowFilter), blacklist.map(parseFlowFilter));
}

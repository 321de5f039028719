/**
 * Turns query parameters (HTTP query string or CLI flags) into a typed FlowQuery: the filters, in
 * the one filter language of common/filter (Hubble's words, parsed into FlowFilters exactly as
 * `hubble observe` builds them, plus Flowtrail's owner filters), and the time range, page size,
 * cursor, order and output format. Errors are InputErrors naming the parameter, so the API answers
 * 400 with a useful message.
 * @module
 */
import { z } from 'zod';
import { InputError } from '../../../common/errors.ts';
import {
  FILTER_ALIASES,
  FILTER_WORDS,
  filterSetFromParams,
  isFilterParam,
  isNarrowed,
  type ParsedFilterSet,
  parseFilterSet,
  type RawParams,
} from '../../../common/filter/index.ts';
import { nowNs, parseTimeArg } from '../../../common/time.ts';
import { decodeCursor, type FlowCursor } from './cursor.ts';
import { type FlowSortKey, flowSortKeys } from './sort.ts';

export { isNarrowed, type RawParams };

/** Every filter parameter name (the filter words and their old aliases; `not-<word>` negates). */
export const flowFilterNames: readonly string[] = [
  ...Object.keys(FILTER_WORDS),
  ...Object.keys(FILTER_ALIASES),
];

/** Output formats of the flows endpoint. */
export const flowFormats = ['json', 'ndjson', 'csv'] as const;
export type FlowFormat = (typeof flowFormats)[number];

/** A fully parsed flows request. */
export interface FlowQuery {
  filters: ParsedFilterSet;
  /** Inclusive lower bound, Unix nanoseconds. */
  sinceNs: bigint;
  /** Exclusive upper bound, Unix nanoseconds. */
  untilNs: bigint;
  /** Rows per page. */
  limit: number;
  /** Descending (`newest`, the default) or ascending (`oldest`), for whatever `sort` names. */
  order: 'newest' | 'oldest';
  /** The column sorted by; time and flow_id break ties. */
  sort: FlowSortKey;
  cursor?: FlowCursor;
  /** Requested with `format=`; undefined means "decide from Accept". */
  format?: FlowFormat;
}

/** Bounds applied while parsing (from the API config; the CLI passes its own). */
export interface FlowQueryBounds {
  /** Rows per page when `limit` is absent. */
  defaultLimit: number;
  /** Largest accepted `limit`. */
  maxLimit: number;
  /** Longest since..until range, in nanoseconds, when an address or owner filter narrows the scan. */
  maxRangeNs: bigint;
  /** Longest range without such a filter (an unbounded scan), and the default range. */
  maxUnboundedRangeNs: bigint;
}

/** Bounds used when none are given: 100 rows, 31 days narrowed, 7 days unbounded. */
export const defaultFlowQueryBounds: FlowQueryBounds = {
  defaultLimit: 100,
  maxLimit: 10_000,
  maxRangeNs: 31n * 86_400n * 1_000_000_000n,
  maxUnboundedRangeNs: 7n * 86_400n * 1_000_000_000n,
};

/** The non-filter parameters and their schemas (also used for the OpenAPI document). */
export const flowControlParams = {
  since: z
    .string()
    .describe(
      'Start of the time range (RFC 3339, epoch ns, or relative like -15m). Default: until minus the unbounded range.',
    ),
  until: z.string().describe('End of the time range (exclusive). Default: now.'),
  limit: z
    .string()
    .regex(/^\d{1,9}$/, 'expected a positive integer')
    .describe('Rows per page.'),
  cursor: z.string().describe('Opaque cursor from a previous page (next_cursor).'),
  order: z
    .enum(['newest', 'oldest', 'desc', 'asc'])
    .describe('newest first (default) or oldest first; desc and asc are the same for any `sort` column.'),
  sort: z
    .enum(flowSortKeys)
    .describe('Column to sort by (default time); ties are broken by time and flow id in the same order.'),
  format: z
    .enum(flowFormats)
    .describe('json (default), ndjson (streamed Hubble JSON lines) or csv; else from Accept.'),
} as const;

function values(params: RawParams, name: string): string[] {
  const v = params[name];
  if (v === undefined) return [];
  const list = Array.isArray(v) ? v : [v];
  // A nested object (qs `a[b]=c`) must not silently drop a filter and widen the answer.
  if (list.some((s) => typeof s !== 'string')) throw new InputError(`${name}: expected plain values`, name);
  return list as string[];
}

function single(params: RawParams, name: string): string | undefined {
  const v = values(params, name);
  if (v.length > 1) throw new InputError(`${name}: given ${v.length} times, expected once`, name);
  return v[0];
}

/** Validates one value with its schema, throwing an InputError that names the parameter. */
export function parseParam<T extends z.ZodType>(name: string, schema: T, value: unknown): z.output<T> {
  const r = schema.safeParse(value);
  if (!r.success) throw new InputError(`${name}: ${r.error.issues[0]?.message ?? 'invalid value'}`, name);
  return r.data;
}

/** Parses only the filters (other parameters are the caller's business). */
export function parseFlowFilters(params: RawParams): ParsedFilterSet {
  return parseFilterSet(filterSetFromParams(params));
}

/** Parses the time range with its defaults and bounds. */
export function parseTimeRange(
  params: RawParams,
  bounds: FlowQueryBounds,
  narrowed: boolean,
  now: bigint = nowNs(),
): { sinceNs: bigint; untilNs: bigint } {
  const time = (name: string) => {
    const v = single(params, name);
    if (v === undefined) return undefined;
    try {
      return parseTimeArg(v, now);
    } catch (err) {
      throw new InputError(`${name}: ${(err as Error).message}`, name);
    }
  };
  const untilNs = time('until') ?? now;
  const sinceNs = time('since') ?? untilNs - bounds.maxUnboundedRangeNs;
  if (sinceNs >= untilNs) throw new InputError('since: must be before until', 'since');
  const max = narrowed ? bounds.maxRangeNs : bounds.maxUnboundedRangeNs;
  if (untilNs - sinceNs > max) {
    const hours = max / 3_600_000_000_000n;
    throw new InputError(
      `since: the time range is longer than the ${hours}h allowed${narrowed ? '' : ' without an ip, tenant, account, job, alloc or pod filter'}; narrow it`,
      'since',
    );
  }
  return { sinceNs, untilNs };
}

/**
 * Parses a flows request. Unknown parameters are rejected (a typo must not silently widen the
 * result), and so is anything the bounds forbid.
 */
export function parseFlowQuery(
  params: RawParams,
  bounds: FlowQueryBounds = defaultFlowQueryBounds,
  now?: bigint,
  /** Filters already read from ordered arguments (`flowtrail flows`); else read from `params`. */
  parsedFilters?: ParsedFilterSet,
): FlowQuery {
  const known = new Set<string>(Object.keys(flowControlParams));
  for (const k of Object.keys(params)) {
    if (!known.has(k) && (parsedFilters || !isFilterParam(k)))
      throw new InputError(`${k.slice(0, 64)}: unknown parameter`, k.slice(0, 64));
  }
  const filters = parsedFilters ?? parseFlowFilters(params);
  const { sinceNs, untilNs } = parseTimeRange(params, bounds, isNarrowed(filters), now);
  const limitText = single(params, 'limit');
  const limit =
    limitText === undefined
      ? bounds.defaultLimit
      : Number(parseParam('limit', flowControlParams.limit, limitText));
  if (limit < 1 || limit > bounds.maxLimit) {
    throw new InputError(`limit: expected 1 to ${bounds.maxLimit}, got ${limitText}`, 'limit');
  }
  const orderText = single(params, 'order');
  const orderGiven =
    orderText === undefined ? 'newest' : parseParam('order', flowControlParams.order, orderText);
  const order = orderGiven === 'asc' || orderGiven === 'oldest' ? 'oldest' : 'newest';
  const sortText = single(params, 'sort');
  const sort = sortText === undefined ? 'time' : parseParam('sort', flowControlParams.sort, sortText);
  const formatText = single(params, 'format');
  const format =
    formatText === undefined ? undefined : parseParam('format', flowControlParams.format, formatText);
  const cursorText = single(params, 'cursor');
  const cursor = cursorText === undefined ? undefined : decodeCursor(cursorText);
  if (cursor && cursor.order !== order) {
    throw new InputError('cursor: belongs to the other sort order', 'cursor');
  }
  if (cursor && (cursor.sort?.key ?? 'time') !== sort) {
    throw new InputError('cursor: belongs to another sort column', 'cursor');
  }
  return {
    filters,
    sinceNs,
    untilNs,
    limit,
    order,
    sort,
    ...(cursor ? { cursor } : {}),
    ...(format ? { format } : {}),
  };
}

/** A tenant, account, job, namespace or allocation name: bound as a parameter, so any text is safe. */
export const nameValue = z
  .string()
  .min(1, 'expected a non-empty value')
  .max(256, 'expected at most 256 characters')
  .refine((v) => ![...v].some((c) => c.charCodeAt(0) < 0x20), 'control characters are not allowed');

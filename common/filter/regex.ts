/**
 * @module Regular expressions of flow filters (`dns_query`, `http_path`, `http_url`), with Go's
 * RE2 syntax as Hubble has it, checked by RE2's own parser (re2js, a port of RE2/J) and matched in
 * linear time. The same source text is handed to ClickHouse's `match()`, which is RE2 too, so
 * `(?i)…` means the same in memory and in SQL, and backreferences or lookarounds (which RE2
 * cannot run in linear time) are refused with a clear error instead of risking the event loop.
 */
import { RE2JS } from 're2js';
import { FlowFilterError } from './errors.ts';

/** Longest pattern accepted from a caller. */
export const MAX_PATTERN_LENGTH = 1024;

/** A validated RE2 expression: its source (for SQL) and a linear-time matcher (in memory). */
export interface Re2 {
  readonly source: string;
  /** Unanchored search, like Go's MatchString. */
  test(s: string): boolean;
}

/** Parses `source` with RE2 syntax; throws FlowFilterError naming `field` when RE2 refuses it. */
export function compileRe2(field: string, source: string): Re2 {
  if (source.length > MAX_PATTERN_LENGTH) {
    throw new FlowFilterError(field, `regular expression longer than ${MAX_PATTERN_LENGTH} characters`);
  }
  let re: RE2JS;
  try {
    re = RE2JS.compile(source);
  } catch (err) {
    const why = (err as Error).message.replace(/^error parsing regexp: /, '');
    throw new FlowFilterError(
      field,
      `invalid regular expression "${source.slice(0, 80)}" (RE2 syntax; no backreferences or lookarounds): ${why}`,
    );
  }
  return { source, test: (s) => re.matcher(s).find() };
}

/**
 * What a rule is to the engine: a SELECT of matching flow events, each tagged with the owner
 * it counts against, and a threshold over per-window aggregates. The engine (evaluator.ts)
 * wraps the SELECT in the sliding-window aggregation, so every rule gets windows, de-duplicated
 * counts, samples and evidence the same way, live and in backfill.
 * @module
 */

import type { Severity } from '../../../../common/config/alerts.ts';
import type { SqlParams } from '../../filters/index.ts';

/** The evaluation range a rule's SELECT must restrict `time` to: [t0, t1), Unix nanoseconds. */
export interface RuleRange {
  t0: bigint;
  t1: bigint;
}

/**
 * A rule's event SELECT returns one row per matching flow event with these columns:
 * `tn` Int64 (flow time, ns), `o_tenant`, `o_account`, `o_alloc_id`, `o_alloc_name`,
 * `o_namespace`, `o_job`, `o_node` (the owner the event counts against), `g` String (what the
 * threshold groups on inside the owner: a port, a host, or ''), `peer` String (what is counted
 * distinctly), `s_ip`, `d_ip` String, `port` UInt16, `flag` UInt8 (rule-specific marker) and
 * `sample` String (a JSON object describing the flow).
 */
export interface RuleQuery {
  sql: string;
  /**
   * HAVING over one (window, owner, g) group, with aliases `events` (matching flow events) and
   * `peers` (distinct `peer` values).
   */
  having: string;
  /** The per-group measure reported as the incident's peak (same aliases). */
  measure: string;
}

/** A rule as the engine, the API and the CLI see it. */
export interface Rule {
  /** Rule id: a built-in id or a custom rule's name. */
  id: string;
  kind: 'builtin' | 'custom';
  enabled: boolean;
  severity: Severity;
  description: string;
  /** Sliding window length, nanoseconds. */
  windowNs: bigint;
  /** The configured thresholds, for GET /rules. */
  thresholds: Record<string, unknown>;
  /** What `peak` measures, for summaries ("distinct hosts on one port"). */
  measureName: string;
  /** True when an incident's keys are other tenants' names (hidden from tenant tokens, auth/redact.ts). */
  keysNameTenants?: boolean;
  /** Builds the event SELECT and threshold; binds every value through `p`. */
  query(p: SqlParams, range: RuleRange): RuleQuery;
  /** Flow filters (as /api/v1/flows parameters) that show the evidence besides the owner and time. */
  evidence(keys: readonly string[]): Record<string, string[]>;
}

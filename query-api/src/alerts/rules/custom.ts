/**
 * Custom rules: a saved flow filter (the /api/v1/flows query parameters, parsed by the same
 * filter language, so a rule means exactly what the flows page shows), a window, a threshold
 * on events or distinct peers, and whose owner (source or destination end) an incident is about.
 * @module
 */

import type { CustomRuleConfig } from '../../../../common/config/alerts.ts';
import { ConfigError, errorMessage } from '../../../../common/errors.ts';
import { isFilterParam, type ParsedFilterSet } from '../../../../common/filter/index.ts';
import type { Principal } from '../../auth/principal.ts';
import { filtersToSql, parseFlowFilters, type RawParams } from '../../filters/index.ts';
import type { Rule } from './rule.ts';
import { hasOwner, ipText, notAllowed, ownerColumns, sampleExpr, timeIn } from './sql.ts';

/** Rules read every tenant's flows, as an operator does. */
const ruleReader: Principal = { name: 'alerts', role: 'admin' };

const peerExpr = {
  events: "''",
  'distinct-destinations': ipText('destination_ip'),
  'distinct-sources': ipText('source_ip'),
  'distinct-ports': 'toString(destination_port)',
} as const;

/** Builds a custom rule; an invalid filter is a ConfigError naming the rule. */
export function customRule(cfg: CustomRuleConfig): Rule {
  let filters: ParsedFilterSet;
  try {
    filters = parseFlowFilters(cfg.filter as RawParams);
  } catch (err) {
    throw new ConfigError(`alerts.custom ${cfg.name}: invalid filter: ${errorMessage(err)}`, { cause: err });
  }
  const unknown = Object.keys(cfg.filter).filter((k) => !isFilterParam(k));
  if (unknown.length)
    throw new ConfigError(`alerts.custom ${cfg.name}: unknown filter ${unknown.join(', ')}`);
  const end = cfg.groupBy === 'destination' ? 'dst' : 'src';
  const metric = cfg.threshold.metric;
  return {
    id: cfg.name,
    kind: 'custom',
    enabled: cfg.enabled,
    severity: cfg.severity,
    description:
      cfg.description || `Custom rule: ${metric} >= ${cfg.threshold.min} per ${cfg.groupBy} owner.`,
    windowNs: BigInt(cfg.windowSeconds) * 1_000_000_000n,
    thresholds: {
      filter: cfg.filter,
      groupBy: cfg.groupBy,
      threshold: cfg.threshold,
      windowSeconds: cfg.windowSeconds,
    },
    measureName: metric === 'events' ? 'flow events' : metric.replace('-', ' '),
    query(p, range) {
      const where = [
        timeIn(p, range),
        hasOwner(end),
        notAllowed(p, end, cfg),
        // The statement restricts time to the range (timeIn), so address filters read through
        // the address index as on the flows page; owner filters stay on stored owners.
        ...filtersToSql(p, filters, ruleReader, undefined, { sinceNs: range.t0, untilNs: range.t1 }),
      ];
      const sql =
        `SELECT toUnixTimestamp64Nano(time) AS tn, ${ownerColumns(end)}, '' AS g, ${peerExpr[metric]} AS peer, ` +
        `${ipText('source_ip')} AS s_ip, ${ipText('destination_ip')} AS d_ip, destination_port AS port, ` +
        `toUInt8(0) AS flag, ${sampleExpr} AS sample FROM flows WHERE ${where.join(' AND ')}`;
      const measure = metric === 'events' ? 'events' : 'peers';
      return { sql, having: `${measure} >= ${p.bind(cfg.threshold.min, 'UInt64')}`, measure };
    },
    evidence: () => {
      const out: Record<string, string[]> = {};
      for (const [k, v] of Object.entries(cfg.filter)) out[k] = Array.isArray(v) ? v : [v];
      return out;
    },
  };
}

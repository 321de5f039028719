/**
 * lost-events: Hubble reported events lost (its ring buffer overflowed, the perf ring dropped
 * events, the relay's queue was full). Flows are then missing from the record, so an investigator
 * must know; the usual cause is a collector that fell behind. One incident per Hubble target per
 * window, owned by no tenant (a platform incident: tenant principals never see it).
 * @module
 */
import type { BuiltinRulesConfig } from '../../../../common/config/alerts.ts';
import type { Rule } from './rule.ts';
import { timeIn } from './sql.ts';

const seconds = (s: number) => BigInt(s) * 1_000_000_000n;

/** The lost-events rule: `minReports` LostEvents reports from one target within the window. */
export function lostEventsRule(cfg: BuiltinRulesConfig['lost-events']): Rule {
  return {
    id: 'lost-events',
    kind: 'builtin',
    enabled: cfg.enabled,
    severity: cfg.severity,
    description:
      'Hubble reported lost events (ring buffer overflow, perf ring or relay queue drops): flows are missing from the record.',
    windowNs: seconds(cfg.windowSeconds),
    thresholds: { minReports: cfg.minReports, windowSeconds: cfg.windowSeconds },
    measureName: 'loss reports',
    query(p, range) {
      return {
        sql:
          `SELECT toUnixTimestamp64Nano(time) AS tn, '' AS o_tenant, '' AS o_account, '' AS o_alloc_id, ` +
          `'' AS o_alloc_name, '' AS o_namespace, '' AS o_job, toString(node_name) AS o_node, ` +
          `toString(target) AS g, toString(source) AS peer, '' AS s_ip, '' AS d_ip, toUInt16(0) AS port, ` +
          `toUInt8(0) AS flag, toJSONString(map('time', toString(time), 'target', toString(target), ` +
          `'node', toString(node_name), 'source', toString(source), 'num_events_lost', toString(num_events_lost))) AS sample ` +
          `FROM lost_events WHERE ${timeIn(p, range)}`,
        having: `events >= ${p.bind(cfg.minReports, 'UInt32')}`,
        measure: 'events',
      };
    },
    evidence: () => ({}),
  };
}

/**
 * Rules about how much and towards whom an owner sends: floods and fan-out (event rates and
 * distinct destinations, since Hubble gives events, not bytes or packets), and policy-denied
 * attempts to reach another tenant.
 * @module
 */
import type { BuiltinRulesConfig } from '../../../../common/config/alerts.ts';
import type { Rule } from './rule.ts';
import { hasOwner, ipText, notAllowed, sourceEventColumns, timeIn } from './sql.ts';

const seconds = (s: number) => BigInt(s) * 1_000_000_000n;

/**
 * flood: outbound flow events per second (averaged over the window) or distinct destination
 * addresses per owner over a threshold. Replies are not the owner's sending and do not count.
 */
export function floodRule(cfg: BuiltinRulesConfig['flood']): Rule {
  const minEvents = Math.ceil(cfg.maxEventsPerSecond * cfg.windowSeconds);
  return {
    id: 'flood',
    kind: 'builtin',
    enabled: cfg.enabled,
    severity: cfg.severity,
    description:
      `More than ${cfg.maxEventsPerSecond} outbound flow events/s (over ${cfg.windowSeconds}s) ` +
      `or ${cfg.maxDestinations} distinct destinations from one owner.`,
    windowNs: seconds(cfg.windowSeconds),
    thresholds: {
      maxEventsPerSecond: cfg.maxEventsPerSecond,
      maxDestinations: cfg.maxDestinations,
      windowSeconds: cfg.windowSeconds,
    },
    measureName: 'flow events per second',
    query(p, range) {
      return {
        sql:
          `SELECT ${sourceEventColumns("''", ipText('destination_ip'))} FROM flows ` +
          `WHERE ${timeIn(p, range)} AND ${hasOwner('src')} AND is_reply != 'true' AND ${notAllowed(p, 'src', cfg)}`,
        having: `events >= ${p.bind(minEvents, 'UInt64')} OR peers >= ${p.bind(cfg.maxDestinations, 'UInt64')}`,
        measure: `events / ${p.bind(cfg.windowSeconds, 'Float64')}`,
      };
    },
    evidence: () => ({}),
  };
}

/** cross-tenant: policy-denied drops from one tenant towards another tenant's endpoint. */
export function crossTenantRule(cfg: BuiltinRulesConfig['cross-tenant']): Rule {
  return {
    id: 'cross-tenant',
    kind: 'builtin',
    enabled: cfg.enabled,
    severity: cfg.severity,
    description: `At least ${cfg.minEvents} policy-denied drop(s) towards another tenant's endpoint.`,
    windowNs: seconds(cfg.windowSeconds),
    thresholds: { dropReasons: cfg.dropReasons, minEvents: cfg.minEvents, windowSeconds: cfg.windowSeconds },
    measureName: 'denied flow events',
    // The keys are the targeted tenants.
    keysNameTenants: true,
    query(p, range) {
      return {
        sql:
          `SELECT ${sourceEventColumns('toString(dst_tenant)', ipText('destination_ip'))} FROM flows ` +
          `WHERE ${timeIn(p, range)} AND verdict = 'DROPPED' AND is_reply != 'true' ` +
          `AND drop_reason_desc IN ${p.bind(cfg.dropReasons, 'Array(String)')} AND src_tenant != '' ` +
          `AND ${notAllowed(p, 'src', cfg)} AND (dst_scope = 'other-tenant' OR (dst_tenant != '' AND dst_tenant != src_tenant))`,
        having: `events >= ${p.bind(cfg.minEvents, 'UInt64')}`,
        measure: 'events',
      };
    },
    evidence: () => ({ verdict: ['DROPPED'], 'drop-reason': [...cfg.dropReasons] }),
  };
}

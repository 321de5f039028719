/**
 * The rule set of one configuration: the eight built-in rules (ids fixed) and the custom ones.
 * @module
 */
import type { AlertsConfig } from '../../../../common/config/alerts.ts';
import { customRule } from './custom.ts';
import { metadataAccessRule, miningRule, smtpEgressRule } from './egress.ts';
import { lostEventsRule } from './lost-events.ts';
import type { Rule } from './rule.ts';
import { addressScanRule, portScanRule } from './scan.ts';
import { crossTenantRule, floodRule } from './traffic.ts';

export type { Rule, RuleQuery, RuleRange } from './rule.ts';

/** Every rule of `config`, enabled or not (GET /rules lists the disabled ones too). */
export function buildRules(config: AlertsConfig): Rule[] {
  const r = config.rules;
  return [
    addressScanRule(r['address-scan']),
    portScanRule(r['port-scan']),
    smtpEgressRule(r['smtp-egress']),
    floodRule(r.flood),
    metadataAccessRule(r['metadata-access']),
    crossTenantRule(r['cross-tenant']),
    miningRule(r.mining),
    lostEventsRule(r['lost-events']),
    ...config.custom.map(customRule),
  ];
}

/**
 * SQL fragments the rules share: the time range, the owner of an end, address rendering, the
 * sample-flow object and allowlists. Values are always bound through SqlParams.
 * @module
 */
import type { SqlParams } from '../../filters/index.ts';
import type { RuleRange } from './rule.ts';

/** Which end of a flow an event counts against. */
export type End = 'src' | 'dst';

/** `time` within the evaluation range. */
export function timeIn(p: SqlParams, r: RuleRange): string {
  return (
    `time >= fromUnixTimestamp64Nano(${p.bind(r.t0, 'Int64')}, 'UTC') AND ` +
    `time < fromUnixTimestamp64Nano(${p.bind(r.t1, 'Int64')}, 'UTC')`
  );
}

/** An IPv6 column as text, IPv4-mapped addresses shown as plain IPv4. */
export function ipText(col: string): string {
  return `if(startsWith(toString(${col}), '::ffff:') AND position(toString(${col}), '.') > 0, substring(toString(${col}), 8), toString(${col}))`;
}

/** The owner columns of one end, under the names the evaluator expects. */
export function ownerColumns(end: End): string {
  return ['tenant', 'account', 'alloc_id', 'alloc_name', 'namespace', 'job', 'node']
    .map((c) => `toString(${end}_${c}) AS o_${c}`)
    .join(', ');
}

/** The end has an owner (a tenant or an allocation); unattributed addresses never own incidents. */
export function hasOwner(end: End): string {
  return `(${end}_tenant != '' OR ${end}_alloc_id != '')`;
}

/** Excludes allowlisted tenants and accounts of an end. */
export function notAllowed(
  p: SqlParams,
  end: End,
  cfg: { allowTenants: string[]; allowAccounts: string[] },
): string {
  const parts: string[] = [];
  if (cfg.allowTenants.length)
    parts.push(`${end}_tenant NOT IN ${p.bind(cfg.allowTenants, 'Array(String)')}`);
  if (cfg.allowAccounts.length)
    parts.push(`${end}_account NOT IN ${p.bind(cfg.allowAccounts, 'Array(String)')}`);
  return parts.length ? parts.join(' AND ') : '1';
}

/** The sample-flow JSON object of the current row. */
export const sampleExpr =
  `toJSONString(map('time', toString(time), 'flow_id', lower(hex(flow_id)), 'verdict', toString(verdict), ` +
  `'drop_reason', toString(drop_reason_desc), 'l4', toString(l4_protocol), 'source_ip', ${ipText('source_ip')}, ` +
  `'source_port', toString(source_port), 'destination_ip', ${ipText('destination_ip')}, ` +
  `'destination_port', toString(destination_port), 'tcp_flags', toString(tcp_flags), ` +
  `'is_reply', toString(is_reply), 'summary', summary))`;

/** The standard columns of a source-owned event row: owner = source end, peer and g given. */
export function sourceEventColumns(g: string, peer: string, flag = '0'): string {
  return (
    `toUnixTimestamp64Nano(time) AS tn, ${ownerColumns('src')}, ${g} AS g, ${peer} AS peer, ` +
    `${ipText('source_ip')} AS s_ip, ${ipText('destination_ip')} AS d_ip, destination_port AS port, ` +
    `toUInt8(${flag}) AS flag, ${sampleExpr} AS sample`
  );
}

/** True when a name equals one of the bound domains or is a subdomain of one (case and trailing dot ignored). */
export function domainMatch(nameExpr: string, domainsParam: string): string {
  const n = `lower(replaceRegexpOne(${nameExpr}, '[.]$', ''))`;
  return `arrayExists(d -> (${n} = d OR endsWith(${n}, concat('.', d))), ${domainsParam})`;
}

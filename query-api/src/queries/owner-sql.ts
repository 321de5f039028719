/**
 * Owner columns as a principal may see them: a tenant principal sees the owner fields of an end
 * only when that end is its own tenant's (other tenants' names, jobs and allocations come back
 * empty), so aggregate endpoints cannot leak them through group keys.
 * @module
 */
import type { Principal } from '../auth/principal.ts';
import type { SqlParams } from '../filters/index.ts';

/** `src_<field>` / `dst_<field>`, masked for tenant principals. */
export function ownerExpr(p: SqlParams, principal: Principal, end: 'src' | 'dst', field: string): string {
  const col = field === 'source' || field === 'scope' ? `toString(${end}_${field})` : `${end}_${field}`;
  if (principal.role !== 'tenant') return col;
  return `if(${end}_tenant = ${p.bind(principal.tenant ?? '', 'String')}, ${col}, '')`;
}

/** An address column as text, IPv4-mapped addresses as dotted quads. */
export function ipText(col: string): string {
  return (
    `if(startsWith(IPv6NumToString(${col}), '::ffff:') AND position(IPv6NumToString(${col}), '.') > 0, ` +
    `substring(IPv6NumToString(${col}), 8), IPv6NumToString(${col}))`
  );
}

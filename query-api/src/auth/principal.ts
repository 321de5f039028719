/**
 * Who is asking: the principal behind a request (from its bearer token, or the open-mode
 * stand-in), and what each role may do. Tenant scoping itself is enforced in SQL
 * (filters/where.ts tenantScope), so no endpoint can forget it.
 * @module
 */
import { AccessError } from '../../../common/errors.ts';

/** Roles a token can carry. */
export const roles = ['admin', 'investigator', 'sre', 'tenant'] as const;
export type Role = (typeof roles)[number];

/** The caller of one request. */
export interface Principal {
  /** Token name (never the token itself); `open-mode` when authentication is off. */
  name: string;
  role: Role;
  /** The only tenant a `tenant` principal may see; absent for other roles. */
  tenant?: string;
}

/** Actions the API guards, one per family of endpoints. */
export const actions = ['flows', 'attribution', 'investigations', 'dashboards', 'audit', 'grpc'] as const;
export type Action = (typeof actions)[number];

/** Which roles may perform which action. */
const permissions: Readonly<Record<Action, readonly Role[]>> = {
  flows: ['admin', 'investigator', 'sre', 'tenant'],
  attribution: ['admin', 'investigator', 'sre'],
  investigations: ['admin', 'investigator', 'tenant'],
  dashboards: ['admin', 'investigator', 'sre', 'tenant'],
  audit: ['admin'],
  grpc: ['admin', 'investigator', 'sre', 'tenant'],
};

/** Throws a 403 AccessError unless `principal` may perform `action`. */
export function authorize(principal: Principal, action: Action): void {
  if (!permissions[action].includes(principal.role)) {
    throw new AccessError(403, `role ${principal.role} may not use ${action}`);
  }
}

/** The principal of open mode: an admin, loudly announced at startup. */
export const openModePrincipal: Principal = Object.freeze({ name: 'open-mode', role: 'admin' });

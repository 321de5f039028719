/**
 * Bearer-token authentication: the presented token is hashed (SHA-256) and looked up among the
 * configured hashes, so the config never holds a token and nothing here logs one. The stock
 * hubble CLI can only send Basic auth, so `Basic base64(name:token)` is accepted as well, with
 * the name checked against the token's.
 * @module
 */
import { createHash } from 'node:crypto';
import type { AuthConfig, TokenConfig } from '../../../common/config/auth.ts';
import { AccessError } from '../../../common/errors.ts';
import { openModePrincipal, type Principal } from './principal.ts';

/** Resolves the `authorization` header of a request (HTTP or gRPC) to a principal. */
export interface Authenticator {
  readonly mode: 'tokens' | 'open';
  /** Throws AccessError(401) when the header is missing or unknown. */
  authenticate(authorization: string | undefined): Principal;
}

/** Hex SHA-256 of a token, as the config stores it. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Builds the authenticator from the auth config and token list. */
export function createAuthenticator(auth: AuthConfig, tokens: readonly TokenConfig[]): Authenticator {
  const byHash = new Map(tokens.map((t) => [t.sha256.toLowerCase(), t]));
  const principalOf = (t: TokenConfig): Principal =>
    Object.freeze({ name: t.name, role: t.role, ...(t.tenant ? { tenant: t.tenant } : {}) });
  return {
    mode: auth.mode,
    authenticate(header) {
      if (auth.mode === 'open') return openModePrincipal;
      if (!header) throw new AccessError(401, 'missing bearer token (Authorization: Bearer <token>)');
      const m = /^(Bearer|Basic)\s+(\S+)\s*$/i.exec(header);
      if (!m) throw new AccessError(401, 'unsupported authorization scheme; use Bearer');
      let token = m[2]!;
      let name: string | undefined;
      if (m[1]!.toLowerCase() === 'basic') {
        const decoded = Buffer.from(token, 'base64').toString('utf8');
        const i = decoded.indexOf(':');
        if (i < 0) throw new AccessError(401, 'malformed basic credentials');
        name = decoded.slice(0, i);
        token = decoded.slice(i + 1);
      }
      const t = byHash.get(hashToken(token));
      if (!t || (name !== undefined && name !== t.name)) throw new AccessError(401, 'unknown token');
      if (t.expires !== undefined && Date.parse(t.expires) <= Date.now()) {
        throw new AccessError(401, `token ${t.name} expired at ${t.expires}`);
      }
      return principalOf(t);
    },
  };
}

/**
 * The access-control slice of the config file: API tokens (stored as SHA-256 hashes, never the
 * token) with a role and, for the `tenant` role, the one tenant they may see; and the explicit
 * open mode for the local demo.
 * @module
 */
import { z } from 'zod';

/** Roles a token can carry (query-api/src/auth/principal.ts says what each may do). */
export const tokenRoles = ['admin', 'investigator', 'sre', 'tenant'] as const;

/** One API token. */
export const tokenSchema = z
  .strictObject({
    /** Shown in the audit log and logs; unique. */
    name: z.string().regex(/^[A-Za-z0-9_.@-]{1,64}$/, 'expected 1-64 letters, digits, _ . @ -'),
    role: z.enum(tokenRoles),
    /** Required for role `tenant`, forbidden otherwise. */
    tenant: z.string().min(1).max(256).optional(),
    /** Hex SHA-256 of the token (`printf %s "$TOKEN" | sha256sum`). */
    sha256: z.string().regex(/^[0-9a-fA-F]{64}$/, 'expected the hex SHA-256 of the token (64 hex digits)'),
    /** When the token stops working (RFC 3339, e.g. `2026-06-30T00:00:00Z`); afterwards 401, audited. */
    expires: z.iso.datetime({ offset: true }).optional(),
  })
  .superRefine((t, ctx) => {
    if (t.role === 'tenant' && !t.tenant) {
      ctx.addIssue({ code: 'custom', message: 'a tenant token needs `tenant`', path: ['tenant'] });
    }
    if (t.role !== 'tenant' && t.tenant) {
      ctx.addIssue({ code: 'custom', message: 'only role tenant takes `tenant`', path: ['tenant'] });
    }
  });

/** A configured token. */
export type TokenConfig = z.infer<typeof tokenSchema>;

/** The token list; names and hashes must be unique. */
export const tokensSchema = z
  .array(tokenSchema)
  .default([])
  .superRefine((tokens, ctx) => {
    const names = new Set<string>();
    const hashes = new Set<string>();
    tokens.forEach((t, i) => {
      if (names.has(t.name))
        ctx.addIssue({ code: 'custom', message: `duplicate token name ${t.name}`, path: [i, 'name'] });
      if (hashes.has(t.sha256.toLowerCase()))
        ctx.addIssue({ code: 'custom', message: 'duplicate token hash', path: [i, 'sha256'] });
      names.add(t.name);
      hashes.add(t.sha256.toLowerCase());
    });
  });

/** How requests are authenticated. */
export const authConfigSchema = z
  .strictObject({
    /**
     * `tokens` (default): every request needs a configured bearer token. `open`: no
     * authentication, every caller is an admin; for the local demo only, announced loudly.
     */
    mode: z.enum(['tokens', 'open']).default('tokens'),
  })
  .prefault({});

/** The validated auth slice. */
export type AuthConfig = z.infer<typeof authConfigSchema>;

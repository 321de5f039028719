/**
 * The signed-in session: the API token lives in sessionStorage (gone when the tab closes, never
 * in localStorage or a cookie), and the caller's role decides which pages the navigation shows.
 * @module
 */
import { ApiClient, ApiError, type Principal } from './api.ts';

const tokenKey = 'flowtrail.token';

/** The session of this tab. */
export interface Session {
  api: ApiClient;
  /** Who the API says we are; null until known or when signed out. */
  principal: Principal | null;
  /** True when the API answers without a token (the local demo's open mode). */
  openMode: boolean;
  /** True when the alerts API answers (the Alerts page is hidden otherwise). */
  alerts: boolean;
}

/** The stored token, if any. */
export function storedToken(): string | null {
  try {
    return sessionStorage.getItem(tokenKey);
  } catch {
    return null;
  }
}

/** Stores (or, with null, forgets) the token. */
export function storeToken(token: string | null): void {
  if (token) sessionStorage.setItem(tokenKey, token);
  else sessionStorage.removeItem(tokenKey);
}

/** A session bound to the stored token. */
export function createSession(): Session {
  return { api: new ApiClient(storedToken), principal: null, openMode: false, alerts: false };
}

const isStatus = (err: unknown, ...codes: number[]) => err instanceof ApiError && codes.includes(err.status);

/**
 * Finds out who the token belongs to. `GET /api/v1/whoami` answers directly; against an API
 * without it, the role is inferred from which families of endpoints answer 403. Resolves to
 * null when the API wants a token (401).
 */
export async function resolvePrincipal(session: Session): Promise<Principal | null> {
  const { api } = session;
  try {
    const me = await api.whoami();
    session.openMode = !storedToken();
    return me;
  } catch (err) {
    if (isStatus(err, 401)) return null;
    if (!isStatus(err, 404, 405)) throw err;
  }
  // Fallback probing, cheapest first.
  try {
    await api.flows({ since: '-1m', limit: 1 });
  } catch (err) {
    // Only a 401 means the token was refused; any other failure happened after authentication.
    if (isStatus(err, 401)) return null;
    if (!(err instanceof ApiError)) throw err;
  }
  session.openMode = !storedToken();
  const denied = async (f: () => Promise<unknown>) => {
    try {
      await f();
      return false;
    } catch (err) {
      return isStatus(err, 403);
    }
  };
  if (!(await denied(() => api.request('GET', '/api/v1/audit', { limit: 1 })))) {
    return { name: session.openMode ? 'open-mode' : 'token', role: 'admin' };
  }
  if (await denied(() => api.attribution('127.0.0.1', 'now'))) {
    return { name: 'token', role: 'tenant' };
  }
  const noCases = await denied(() => api.request('POST', '/api/v1/investigations', {}, {}));
  return { name: 'token', role: noCases ? 'sre' : 'investigator' };
}

/** Checks whether the alerts API exists (any answer but 404 counts). */
export async function probeAlerts(session: Session): Promise<boolean> {
  try {
    await session.api.alerts('rules');
    return true;
  } catch (err) {
    return !isStatus(err, 404, 403, 401);
  }
}

/**
 * A small hash router: `#/flows?verdict=DROPPED&ip=10.0.0.1` names a page and its parameters,
 * so every view is a link (numbers on the overview link to the flows behind them) and the
 * static server needs no fallback route.
 * @module
 */
import type { Session } from './session.ts';

/** What a page gets when it renders. */
export interface PageContext {
  root: HTMLElement;
  /** Path segments after the page name (`#/tenants/acme` → `['acme']`). */
  segments: string[];
  params: URLSearchParams;
  session: Session;
  /** Aborted when the user leaves the page: pages stop timers and fetches on it. */
  signal: AbortSignal;
}

/** A page of the UI. */
export interface Page {
  name: string;
  title: string;
  /** Roles that see the page in the navigation (and may open it). */
  roles: readonly string[];
  /** Hidden from the navigation unless this returns true. */
  visible?: (session: Session) => boolean;
  /** False: never in the navigation, opened through links only (pivots). */
  nav?: false;
  /** The page shows the shared time range: the navigation link carries the current range to it. */
  timeRange?: true;
  render(ctx: PageContext): void | Promise<void>;
}

/** The parsed hash. */
export interface Route {
  name: string;
  segments: string[];
  params: URLSearchParams;
}

/** Parses `#/name/seg?query`. */
export function parseHash(hash: string): Route {
  const raw = hash.replace(/^#\/?/, '');
  const q = raw.indexOf('?');
  const path = q < 0 ? raw : raw.slice(0, q);
  const params = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1));
  const [name = '', ...segments] = path.split('/').map(decodeURIComponent);
  return { name, segments, params };
}

/** Builds a hash link: `link('flows', {verdict:'DROPPED'})` → `#/flows?verdict=DROPPED`. */
export function link(
  name: string,
  params: Record<string, string | readonly string[] | undefined> | URLSearchParams = {},
  ...segments: string[]
): string {
  const q =
    params instanceof URLSearchParams
      ? new URLSearchParams(params)
      : (() => {
          const u = new URLSearchParams();
          for (const [k, v] of Object.entries(params)) {
            if (v === undefined || v === '') continue;
            if (Array.isArray(v)) for (const x of v as readonly string[]) u.append(k, x);
            else u.append(k, v as string);
          }
          return u;
        })();
  const path = [name, ...segments.map(encodeURIComponent)].join('/');
  const s = q.toString();
  return `#/${path}${s ? `?${s}` : ''}`;
}

/** Navigates to a hash (pushes history). */
export function go(hash: string): void {
  if (location.hash === hash) window.dispatchEvent(new HashChangeEvent('hashchange'));
  else location.hash = hash;
}

/** Replaces the current hash without a new history entry or a re-render. */
export function replaceHash(hash: string): void {
  history.replaceState(null, '', hash);
}

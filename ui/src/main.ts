/**
 * The UI's entry point: resolves the session (token → role), draws the role-aware navigation,
 * and renders the page the hash names. Pages get an AbortSignal that fires when the user
 * navigates away, so their timers and requests stop.
 * @module
 */

import { rangeParams } from './components/time-range.ts';
import { h, replace, status } from './dom.ts';
import { activityPage } from './pages/activity.ts';
import { alertsPage } from './pages/alerts.ts';
import { casesPage } from './pages/cases.ts';
import { flowsPage } from './pages/flows.ts';
import { investigatePage } from './pages/investigate.ts';
import { mapPage } from './pages/map.ts';
import { overviewPage } from './pages/overview.ts';
import { reportPage } from './pages/report.ts';
import { signinPage } from './pages/signin.ts';
import { tenantPage } from './pages/tenant.ts';
import { visualizePage } from './pages/visualize.ts';
import { whoPage } from './pages/who.ts';
import { link, type Page, parseHash } from './router.ts';
import { createSession, probeAlerts, resolvePrincipal, storedToken, storeToken } from './session.ts';

const pages: Page[] = [
  overviewPage,
  visualizePage,
  flowsPage,
  investigatePage,
  tenantPage,
  mapPage,
  alertsPage,
  whoPage,
  activityPage,
  casesPage,
  reportPage,
  signinPage,
];
const session = createSession();
const main = document.getElementById('main') as HTMLElement;
const nav = document.getElementById('nav') as HTMLElement;
const who = document.getElementById('who') as HTMLElement;
let current: AbortController | null = null;
/** Why the API could not be reached at boot; the pages wait for it instead of asking for a token. */
let unreachable: string | null = null;

function allowed(page: Page): boolean {
  const role = session.principal?.role;
  return !!role && page.roles.includes(role) && (page.visible?.(session) ?? true);
}

/**
 * Draws the navigation; links to pages with a time range carry the range of `params` (the
 * current page's), so switching pages keeps the chosen range.
 */
function drawNav(active: string, params = new URLSearchParams()): void {
  const range = rangeParams(params);
  replace(
    nav,
    h(
      'ul',
      {},
      ...pages
        .filter((p) => allowed(p) && p.nav !== false)
        .map((p) =>
          h(
            'li',
            {},
            h(
              'a',
              {
                href: link(p.name, p.timeRange ? range : {}),
                'aria-current': p.name === active ? 'page' : undefined,
              },
              p.title,
            ),
          ),
        ),
    ),
  );
  const p = session.principal;
  replace(
    who,
    p
      ? h(
          'span',
          {},
          session.openMode
            ? h('strong', { class: 'open-mode', title: 'Authentication is off on this server' }, 'OPEN MODE ')
            : null,
          `${p.name === 'token' ? 'Signed in' : p.name} · ${p.role}${p.tenant ? ` · ${p.tenant}` : ''} `,
          storedToken()
            ? h(
                'button',
                {
                  type: 'button',
                  class: 'link',
                  onclick: () => {
                    storeToken(null);
                    location.hash = '#/signin';
                    location.reload();
                  },
                },
                'Sign out',
              )
            : null,
        )
      : h('a', { href: '#/signin' }, 'Sign in'),
  );
}

async function route(): Promise<void> {
  current?.abort();
  const ctl = new AbortController();
  current = ctl;
  const r = parseHash(location.hash);
  if (unreachable) {
    // No answer is not a refusal: asking for a token would send the user down the wrong path.
    drawNav('');
    document.title = 'API not answering · Flowtrail';
    main.setAttribute('data-page', 'unreachable');
    replace(
      main,
      h('h1', {}, 'API not answering'),
      status(`The Flowtrail API did not answer: ${unreachable}`, 'error'),
      h(
        'p',
        {},
        'Check that the query API is running and reachable from this browser. ',
        h('button', { type: 'button', onclick: () => location.reload() }, 'Try again'),
      ),
    );
    main.setAttribute('data-ready', 'true');
    return;
  }
  if (!session.principal && r.name !== 'signin') {
    location.replace(`#/signin?next=${encodeURIComponent(location.hash || '#/overview')}`);
    return;
  }
  const page = pages.find((p) => p.name === r.name) ?? (r.name === '' ? overviewPage : undefined);
  drawNav(page?.name ?? '', r.params);
  if (!page) {
    document.title = 'Not found · Flowtrail';
    main.setAttribute('data-page', 'not-found');
    replace(
      main,
      h('h1', {}, 'Not found'),
      h('p', {}, `There is no page "${r.name}".`),
      h('p', {}, h('a', { href: link('overview') }, 'Back to the overview')),
    );
    main.setAttribute('data-ready', 'true');
    return;
  }
  if (page !== signinPage && !allowed(page)) {
    document.title = `${page.title} · Flowtrail`;
    replace(
      main,
      h('h1', {}, page.title),
      status(`Your role (${session.principal?.role}) cannot open this page.`, 'error'),
    );
    return;
  }
  document.title = `${page.title} · Flowtrail`;
  main.setAttribute('data-page', page.name);
  main.removeAttribute('data-ready');
  try {
    await page.render({ root: main, segments: r.segments, params: r.params, session, signal: ctl.signal });
  } catch (err) {
    if ((err as Error).name !== 'AbortError')
      replace(main, status(`This page failed: ${(err as Error).message}`, 'error'));
  }
  if (!ctl.signal.aborted) main.setAttribute('data-ready', 'true');
}

async function boot(): Promise<void> {
  try {
    session.principal = await resolvePrincipal(session);
    if (session.principal) session.alerts = await probeAlerts(session);
  } catch (err) {
    unreachable = (err as Error).message;
  }
  window.addEventListener('hashchange', () => void route());
  window.addEventListener('flowtrail:session', () => {
    void probeAlerts(session).then((ok) => {
      session.alerts = ok;
      const r = parseHash(location.hash);
      drawNav(r.name, r.params);
    });
  });
  await route();
}

void boot();

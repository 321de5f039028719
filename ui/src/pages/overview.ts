/**
 * Overview: the SRE's first screen. Flow events per second by verdict, drops by reason, top
 * tenants by flows and by drops, top destinations and recent alert incidents, for a chosen
 * window with optional auto-refresh. Every number links to the flows explorer with the filters
 * that produce it.
 * @module
 */
import { type ApiClient, type Incident, listOf, type TopItem } from '../api.ts';
import { barList } from '../charts/bar-list.ts';
import { colorOf } from '../charts/colors.ts';
import { stackedArea } from '../charts/stacked-area.ts';
import { dashVars, varsOf } from '../components/dash-vars.ts';
import { createLive } from '../components/live.ts';
import { autoRefresh, type TimeWindow, timeRangePicker, windowOf } from '../components/time-range.ts';
import { h, panel, replace } from '../dom.ts';
import { fmtCount, fmtTime } from '../format.ts';
import { go, link, type Page, type PageContext } from '../router.ts';

/** Link to the flows explorer for a window plus filters. */
export function flowsLink(
  win: Pick<TimeWindow, 'since' | 'until'>,
  filters: Record<string, string | undefined>,
): string {
  return link('flows', { ...filters, since: win.since, until: win.until });
}

/** The parameters of a page zoomed to an absolute range (drag-to-zoom on a time chart). */
export function zoomed(params: URLSearchParams, since: string, until: string): URLSearchParams {
  const next = new URLSearchParams(params);
  next.set('range', 'custom');
  next.set('since', since);
  next.set('until', until);
  next.delete('refresh');
  return next;
}

/** The step for a window: about 60 points, at least one second. */
export function stepFor(seconds: number): number {
  const candidates = [1, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600];
  return candidates.find((c) => seconds / c <= 90) ?? 3600;
}

/** Drops by reason over the window: one timeseries bucket per reason, summed. */
export async function dropsByReason(
  api: ApiClient,
  range: { since: string; until: string },
  seconds: number,
  signal: AbortSignal,
): Promise<TopItem[]> {
  const ts = await api.timeseries(
    { ...range, by: 'drop_reason', verdict: 'DROPPED', step: `${Math.max(1, Math.ceil(seconds))}s` },
    signal,
  );
  return ts.series
    .map((s) => ({ key: s.key, count: s.points.reduce((a, p) => a + p.count, 0) }))
    .sort((a, b) => b.count - a.count)
    .slice(0, 10);
}

/** Filters that select a destination from a top-destinations key (an address or a name). */
export function destinationFilter(item: TopItem): Record<string, string> {
  const k = item.key;
  if (/^[0-9a-f:.]+(\/\d+)?$/i.test(k) && /[.:]/.test(k)) return { 'to-ip': k };
  return { fqdn: k };
}

function incidentsTable(raw: unknown, win: TimeWindow): HTMLElement {
  const incidents = listOf(raw, 'incidents') as Incident[];
  if (incidents.length === 0) return h('p', { class: 'empty' }, 'No alert incidents in this range.');
  return h(
    'table',
    { class: 'data' },
    h('caption', { class: 'sr-only' }, 'Recent alert incidents'),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ...['Rule', 'Severity', 'Tenant', 'Account', 'Last seen', 'Events', 'Status'].map((c) =>
          h('th', { scope: 'col' }, c),
        ),
      ),
    ),
    h(
      'tbody',
      {},
      ...incidents.slice(0, 10).map((i) =>
        h(
          'tr',
          {},
          h('td', {}, h('a', { href: link('alerts', { incident: i.id }) }, i.rule)),
          h('td', {}, h('span', { class: `sev sev-${i.severity}` }, i.severity)),
          h('td', {}, i.tenant),
          h('td', {}, i.account),
          h('td', {}, fmtTime(i.last_seen)),
          h(
            'td',
            {},
            h(
              'a',
              {
                class: 'num',
                href: flowsLink(
                  { since: i.first_seen || win.since, until: i.last_seen || win.until },
                  { tenant: i.tenant || undefined, account: i.account || undefined },
                ),
              },
              fmtCount(i.count),
            ),
          ),
          h('td', {}, i.status),
        ),
      ),
    ),
  );
}

async function render(ctx: PageContext): Promise<void> {
  const { root, params, session, signal } = ctx;
  const api = session.api;
  const live = createLive();
  const body = () => h('div', { class: 'panel-body' });
  const rate = body();
  const dropRate = body();
  const drops = body();
  const tenantsFlows = body();
  const tenantsDrops = body();
  const dests = body();
  const incidents = body();
  const draw = () => {
    const win = windowOf(params);
    const step = stepFor(win.seconds);
    const vars = varsOf(params);
    // Every panel and every link carries the dashboard variables.
    const range = { since: win.since, until: win.until, ...vars };
    const href = (filters: Record<string, string | undefined>) => flowsLink(win, { ...vars, ...filters });
    // Unattributed traffic has no tenant filter that selects it: its number is not a link.
    const tenantHref = (tenant: string, extra: Record<string, string> = {}) =>
      tenant ? href({ tenant, ...extra }) : undefined;
    return live.round([
      live.section(
        rate,
        () => api.timeseries({ ...range, by: 'verdict', step: `${step}s` }, signal),
        (ts) =>
          stackedArea(ts, {
            since: win.since,
            until: win.until,
            width: Math.max(640, rate.clientWidth),
            height: 260,
            label: 'Flow events per second by verdict',
            href: (key, since, until) => flowsLink({ since, until }, { ...vars, verdict: key }),
            onZoom: (since, until) => go(link('overview', zoomed(params, since, until))),
          }),
        'the event rate',
      ),
      // Drops on their own scale: a few drops a second vanish under thousands forwarded.
      live.section(
        dropRate,
        () => api.timeseries({ ...range, by: 'drop_reason', verdict: 'DROPPED', step: `${step}s` }, signal),
        (ts) =>
          stackedArea(ts, {
            since: win.since,
            until: win.until,
            width: Math.max(640, dropRate.clientWidth),
            height: 200,
            label: 'Dropped events per second by drop reason',
            unit: 'drops/s',
            href: (key, since, until) =>
              flowsLink(
                { since, until },
                { ...vars, verdict: 'DROPPED', 'drop-reason': key && key !== '(none)' ? key : undefined },
              ),
            onZoom: (since, until) => go(link('overview', zoomed(params, since, until))),
          }),
        'the drop rate',
      ),
      live.section(
        drops,
        () => dropsByReason(api, range, win.seconds, signal),
        (items) =>
          barList(
            items.map((i) => ({
              label: i.key,
              count: i.count,
              color: colorOf('DROPPED'),
              href: href({
                verdict: 'DROPPED',
                'drop-reason': i.key && i.key !== '(none)' ? i.key : undefined,
              }),
            })),
            'dropped events',
            'No drops in this range.',
          ),
        'drops',
      ),
      live.section(
        tenantsFlows,
        () => api.top({ ...range, by: 'tenant', n: 10 }, signal),
        (items) =>
          barList(
            items.map((i) => ({ label: i.key || '(unattributed)', count: i.count, href: tenantHref(i.key) })),
          ),
        'tenants',
      ),
      live.section(
        tenantsDrops,
        () => api.top({ ...range, by: 'tenant', metric: 'drops', n: 10 }, signal),
        (items) =>
          barList(
            items
              .filter((i) => i.count > 0)
              .map((i) => ({
                label: i.key || '(unattributed)',
                count: i.count,
                color: colorOf('DROPPED'),
                href: tenantHref(i.key, { verdict: 'DROPPED' }),
              })),
            'dropped events',
            'No drops in this range.',
          ),
        'tenants by drops',
      ),
      live.section(
        dests,
        () => api.top({ ...range, by: 'destination', n: 10 }, signal),
        (items) =>
          barList(
            items.map((i) => ({
              label: i.key,
              count: i.count,
              note: [i['tenant'], i['job']].filter(Boolean).join('/') || undefined,
              href: href(destinationFilter(i)),
            })),
          ),
        'destinations',
      ),
      ...(session.alerts
        ? [
            live.section(
              incidents,
              () => api.alerts('incidents', { since: win.since, until: win.until, limit: 10 }, signal),
              (raw) => incidentsTable(raw, win),
              'incidents',
            ),
          ]
        : []),
    ]);
  };
  replace(
    root,
    h(
      'div',
      { class: 'page-head' },
      h('h1', {}, 'Overview'),
      timeRangePicker(params, (next) => go(link('overview', next))),
      live.updated,
    ),
    dashVars(params, (next) => go(link('overview', next))),
    h(
      'p',
      { class: 'note' },
      'Counts are Hubble flow events (trace, drop, policy verdict, L7), not bytes or packets. Click any number for the flows behind it.',
    ),
    live.banner,
    h(
      'div',
      { class: 'dash-grid', 'data-testid': 'overview-grid' },
      h('div', { class: 'wide' }, panel('Flow events per second, by verdict', rate)),
      h('div', { class: 'wide' }, panel('Dropped events per second, by reason', dropRate)),
      panel('Drops by reason', drops),
      panel('Top tenants by flow events', tenantsFlows),
      panel('Top tenants by drops', tenantsDrops),
      panel('Top destinations', dests),
      session.alerts ? h('div', { class: 'wide' }, panel('Recent alert incidents', incidents)) : null,
    ),
  );
  autoRefresh(params, signal, draw);
  await draw();
}

/** The overview page. */
export const overviewPage: Page = {
  name: 'overview',
  title: 'Overview',
  roles: ['admin', 'investigator', 'sre', 'tenant'],
  timeRange: true,
  render,
};

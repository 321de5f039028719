/**
 * Tenant view: one tenant's summary (flow events in and out, verdicts, drop reasons, accounts,
 * peers, ports), its egress to the world, to other tenants and to cloud metadata, and a service
 * map of its jobs and peers. Every number links to the flows behind it.
 * @module
 */
import type { TopologyEdge } from '../api.ts';
import { barList } from '../charts/bar-list.ts';
import { colorOf } from '../charts/colors.ts';
import { type Grouping, groupEdges, isAddressNode, isNameNode, serviceMap } from '../charts/service-map.ts';
import { stackedArea } from '../charts/stacked-area.ts';
import { dashVars, varsOf } from '../components/dash-vars.ts';
import { createLive } from '../components/live.ts';
import { autoRefresh, timeRangePicker, windowOf } from '../components/time-range.ts';
import { field, h, panel, replace, status } from '../dom.ts';
import { fmtCount, fmtTime } from '../format.ts';
import { go, link, type Page, type PageContext } from '../router.ts';
import { destinationFilter, flowsLink, stepFor, zoomed } from './overview.ts';

const num = (v: unknown) => (typeof v === 'number' ? v : Number(v ?? 0) || 0);
const rec = (v: unknown) => (v && typeof v === 'object' ? (v as Record<string, unknown>) : {});

/** The flows explorer filters of one service-map edge (owners as tenant+job, addresses as ip). */
export function edgeFilters(e: TopologyEdge): Record<string, string> {
  const out: Record<string, string> = {};
  const end = (id: string, ipKey: 'from-ip' | 'to-ip', label: 'from-label' | 'to-label') => {
    if (id === 'world') {
      out[ipKey === 'from-ip' ? 'from-scope' : 'to-scope'] = 'world';
    } else if (isNameNode(id)) {
      // A DNS-name group: the flows that recorded that name for this end (Hubble's fqdn words).
      out[ipKey === 'from-ip' ? 'from-fqdn' : 'to-fqdn'] = id;
    } else if (isAddressNode(id)) out[ipKey] = id;
    else if (id.includes('/')) {
      const [, job] = id.split('/');
      if (job) out[label] = `netreap:nomad.job_id=${job}`;
    }
  };
  end(e.source, 'from-ip', 'from-label');
  end(e.destination, 'to-ip', 'to-label');
  return out;
}

/** The map's address grouping from the parameters (default: by /24). */
export function groupingOf(params: URLSearchParams): Grouping {
  const g = params.get('group');
  return g === 'none' || g === 'world' || g === 'dns' ? g : '24';
}

/** The grouping menu of a service map. */
export function groupControl(
  params: URLSearchParams,
  onChange: (next: URLSearchParams) => void,
): HTMLElement {
  const sel = h(
    'select',
    { name: 'group' },
    ...[
      ['24', 'Addresses by /24'],
      ['dns', 'World addresses by DNS name, else /24'],
      ['world', 'Addresses as one "world" node'],
      ['none', 'Every address'],
    ].map(([v, t]) => h('option', { value: v, selected: groupingOf(params) === v }, t)),
  );
  sel.addEventListener('change', () => {
    const next = new URLSearchParams(params);
    next.set('group', sel.value);
    onChange(next);
  });
  return h('div', { class: 'dash-vars' }, field('Group', sel));
}

async function picker(ctx: PageContext): Promise<void> {
  const { root, session, signal, params } = ctx;
  const win = windowOf(params, '24h');
  replace(root, h('h1', {}, 'Tenants'), status('Loading tenants…'));
  try {
    const items = await session.api.top({ since: win.since, until: win.until, by: 'tenant', n: 100 }, signal);
    const named = items.filter((i) => i.key);
    replace(
      root,
      h(
        'div',
        { class: 'page-head' },
        h('h1', {}, 'Tenants'),
        timeRangePicker(params, (next) => go(link('tenants', next)), '24h'),
      ),
      h(
        'p',
        { class: 'note' },
        'Tenants with flow events in the range (as source). Pick one for its summary and service map.',
      ),
      panel(
        'Tenants by flow events',
        barList(named.map((i) => ({ label: i.key, count: i.count, href: link('tenants', params, i.key) }))),
      ),
    );
  } catch (err) {
    replace(
      root,
      h('h1', {}, 'Tenants'),
      status(`Could not load tenants: ${(err as Error).message}`, 'error'),
    );
  }
}

async function render(ctx: PageContext): Promise<void> {
  const { root, params, session, signal } = ctx;
  const own = session.principal?.role === 'tenant' ? session.principal.tenant : undefined;
  const tenant = ctx.segments[0] ?? own;
  if (!tenant) return picker(ctx);
  const live = createLive();
  const summaryBox = h('div', { class: 'panel-body' });
  const rateBox = h('div', { class: 'panel-body' });
  const dropBox = h('div', { class: 'panel-body' });
  const srcBox = h('div', { class: 'panel-body' });
  const dstBox = h('div', { class: 'panel-body' });
  const portBox = h('div', { class: 'panel-body' });
  const mapBox = h('div', { class: 'panel-body' });
  const grouping = groupingOf(params);
  const draw = () => {
    const win = windowOf(params, '24h');
    const range = { since: win.since, until: win.until };
    const vars = varsOf(params);
    const step = stepFor(win.seconds);
    const scoped = { ...range, ...vars, tenant };
    const fl = (filters: Record<string, string | undefined>, w: { since: string; until: string } = win) =>
      flowsLink(w, { ...vars, tenant, ...filters });
    const zoom = (since: string, until: string) => go(link('tenants', zoomed(params, since, until), tenant));
    const rate = live.section(
      rateBox,
      () => session.api.timeseries({ ...scoped, by: 'verdict', step: `${step}s` }, signal),
      (ts) =>
        stackedArea(ts, {
          since: win.since,
          until: win.until,
          width: Math.max(640, rateBox.clientWidth),
          height: 220,
          label: `Flow events per second of ${tenant} by verdict`,
          href: (key, since, until) => fl({ verdict: key }, { since, until }),
          onZoom: zoom,
        }),
      'the event rate',
    );
    const dropRate = live.section(
      dropBox,
      () =>
        session.api.timeseries(
          { ...scoped, by: 'drop_reason', verdict: 'DROPPED', step: `${step}s` },
          signal,
        ),
      (ts) =>
        stackedArea(ts, {
          since: win.since,
          until: win.until,
          width: Math.max(640, dropBox.clientWidth),
          height: 160,
          unit: 'drops/s',
          label: `Dropped events per second of ${tenant} by reason`,
          href: (key, since, until) =>
            fl(
              { verdict: 'DROPPED', 'drop-reason': key && key !== '(none)' ? key : undefined },
              { since, until },
            ),
          onZoom: zoom,
        }),
      'the drop rate',
    );
    const talkers = (box: HTMLElement, by: 'source' | 'destination' | 'port', what: string) =>
      live.section(
        box,
        () => session.api.top({ ...scoped, by, n: 10 }, signal),
        (items) =>
          barList(
            items.map((i) => ({
              label: by === 'port' ? `${i.key}/${String(i['protocol'] ?? '')}` : i.key,
              count: i.count,
              note:
                by === 'port'
                  ? undefined
                  : [i['tenant'], i['account'], i['job']].filter(Boolean).join('/') || undefined,
              href: fl(
                by === 'port'
                  ? { 'to-port': i.key }
                  : by === 'source'
                    ? { 'from-ip': i.key }
                    : destinationFilter(i),
              ),
            })),
          ),
        what,
      );
    const summary = live.section(
      summaryBox,
      () => session.api.tenantSummary(tenant, { ...range, ...vars }, signal),
      (s) => {
        const card = (k: string, v: unknown, href?: string) =>
          h(
            'div',
            { class: 'card' },
            h('span', { class: 'k' }, k),
            href
              ? h('a', { class: 'v num', href }, fmtCount(num(v)))
              : h('span', { class: 'v' }, fmtCount(num(v))),
          );
        const verdicts = Object.entries(rec(s['verdicts'])).sort((a, b) => num(b[1]) - num(a[1]));
        const reasons = Object.entries(rec(s['drop_reasons'])).sort((a, b) => num(b[1]) - num(a[1]));
        const ports = (Array.isArray(s['top_ports']) ? s['top_ports'] : []) as {
          port: number;
          protocol: string;
          flows: number;
        }[];
        return h(
          'div',
          {},
          h(
            'div',
            { class: 'cards', 'data-testid': 'tenant-cards' },
            card('Flow events', s['flows'], fl({})),
            card('Outbound', s['outbound']),
            card('Inbound', s['inbound']),
            card('Accounts', s['accounts']),
            card('Distinct destinations', s['distinct_destinations']),
            card('Distinct sources', s['distinct_sources']),
          ),
          h(
            'p',
            { class: 'hint' },
            `First seen ${fmtTime(String(s['first_seen'] ?? '—'))}, last seen ${fmtTime(String(s['last_seen'] ?? '—'))} UTC.`,
          ),
          h(
            'div',
            { class: 'dash-grid' },
            h(
              'div',
              {},
              h('h3', {}, 'Verdicts'),
              barList(
                verdicts.map(([k, v]) => ({
                  label: k,
                  count: num(v),
                  color: colorOf(k),
                  href: fl({ verdict: k }),
                })),
              ),
            ),
            h(
              'div',
              {},
              h('h3', {}, 'Drop reasons'),
              barList(
                reasons.map(([k, v]) => ({
                  label: k,
                  count: num(v),
                  color: colorOf('DROPPED'),
                  href: fl({ verdict: 'DROPPED', 'drop-reason': k || undefined }),
                })),
                'dropped events',
                'No drops.',
              ),
            ),
            h(
              'div',
              {},
              h('h3', {}, 'Top destination ports'),
              barList(
                ports.map((p) => ({
                  label: `${p.port}/${p.protocol}`,
                  count: num(p.flows),
                  href: fl({ 'to-port': String(p.port) }),
                })),
              ),
            ),
          ),
          h('h3', {}, 'Egress: where this tenant sends traffic'),
          barList(
            [
              { label: 'To the world', count: num(s['to_world']), href: fl({ scope: 'world' }) },
              {
                label: 'To other tenants',
                count: num(s['to_other_tenants']),
                href: fl({ scope: 'other-tenant' }),
                color: '#8e24aa',
              },
              {
                label: 'To cloud metadata',
                count: num(s['to_metadata']),
                href: fl({ scope: 'metadata' }),
                color: '#c62828',
              },
            ],
            'flow events',
          ),
        );
      },
      'the summary',
    );
    const map = live.section(
      mapBox,
      () => session.api.topology({ ...scoped, edges: 150 }, signal),
      (raw) => {
        const edges = groupEdges(raw, grouping);
        const open = (e: TopologyEdge) => go(fl(edgeFilters(e)));
        return h(
          'div',
          {},
          h(
            'p',
            { class: 'hint' },
            `Blue: ${tenant}'s jobs; purple: other tenants' jobs; grey: addresses without an owner. Line width grows with flow events; lines are coloured by verdict (red dashed: dropped events). Scroll to zoom, drag to pan or move a node. Click an edge for its flows.`,
          ),
          groupControl(params, (next) => go(link('tenants', next, tenant))),
          edges.length
            ? serviceMap(edges, { tenant, onEdge: open, width: Math.max(800, mapBox.clientWidth) })
            : h('p', { class: 'empty' }, 'No traffic in this range.'),
          h(
            'details',
            {},
            h('summary', {}, `The ${edges.length} edges as a table`),
            h(
              'table',
              { class: 'data' },
              h(
                'thead',
                {},
                h(
                  'tr',
                  {},
                  ...['From', 'To', 'Flow events', 'Dropped'].map((c) => h('th', { scope: 'col' }, c)),
                ),
              ),
              h(
                'tbody',
                {},
                ...edges.map((e) =>
                  h(
                    'tr',
                    {},
                    h('td', {}, e.source),
                    h('td', {}, e.destination),
                    h('td', {}, h('a', { class: 'num', href: fl(edgeFilters(e)) }, fmtCount(e.flows))),
                    h('td', {}, fmtCount(e.dropped)),
                  ),
                ),
              ),
            ),
          ),
        );
      },
      'the service map',
    );
    return live.round([
      rate,
      dropRate,
      summary,
      talkers(srcBox, 'source', 'top sources'),
      talkers(dstBox, 'destination', 'top destinations'),
      talkers(portBox, 'port', 'top ports'),
      map,
    ]);
  };
  replace(
    root,
    h(
      'div',
      { class: 'page-head' },
      h('h1', {}, `Tenant `, h('span', { 'data-testid': 'tenant-name' }, tenant)),
      timeRangePicker(params, (next) => go(link('tenants', next, tenant)), '24h'),
      live.updated,
      own ? null : h('a', { href: link('tenants', params) }, 'All tenants'),
    ),
    h(
      'p',
      { class: 'note' },
      'Counts are Hubble flow events (not bytes). Egress counts flows this tenant sent.',
    ),
    dashVars(params, (next) => go(link('tenants', next, tenant)), ['tenant']),
    live.banner,
    h(
      'div',
      { class: 'dash-grid' },
      h('div', { class: 'wide' }, panel('Flow events per second, by verdict', rateBox)),
      h('div', { class: 'wide' }, panel('Dropped events per second, by reason', dropBox)),
      h('div', { class: 'wide' }, panel('Summary', summaryBox)),
      panel('Top sources', srcBox),
      panel('Top destinations', dstBox),
      panel('Top destination ports', portBox),
      h('div', { class: 'wide' }, panel('Service map', mapBox)),
    ),
  );
  autoRefresh(params, signal, draw);
  await draw();
}

/** The tenant page. */
export const tenantPage: Page = {
  name: 'tenants',
  title: 'Tenants',
  roles: ['admin', 'investigator', 'sre', 'tenant'],
  timeRange: true,
  render,
};

/**
 * Visualize (Akvorado's page is the model): pick up to three dimensions, a filter in the flows
 * vocabulary and a range, and see the top N groups as stacked series over time, a grid, or a
 * sankey. Every series, row and band drills into the flows explorer with the filters that
 * select it. Everything lives in the hash, so a view is a link.
 * @module
 */
import * as d3 from 'd3';
import { type SankeyLink, type SankeyNode, sankey, sankeyLinkHorizontal } from 'd3-sankey';
import { ApiError, type Timeseries, type Visualization } from '../api.ts';
import { colorOf } from '../charts/colors.ts';
import { stackedArea } from '../charts/stacked-area.ts';
import { filterBar, isFilterName } from '../components/filter-bar.ts';
import { createLive } from '../components/live.ts';
import { autoRefresh, timeRangePicker, windowOf } from '../components/time-range.ts';
import { field, h, panel, replace } from '../dom.ts';
import { fmtCount } from '../format.ts';
import { go, link, type Page, type PageContext } from '../router.ts';
import { zoomed } from './overview.ts';

/** The dimensions, in menu order, with their labels (names as the API takes them). */
export const dimensions: [string, string][] = [
  ['src_tenant', 'Source tenant'],
  ['dst_tenant', 'Destination tenant'],
  ['src_account', 'Source account'],
  ['dst_account', 'Destination account'],
  ['src_namespace', 'Source namespace'],
  ['dst_namespace', 'Destination namespace'],
  ['src_job', 'Source job'],
  ['dst_job', 'Destination job'],
  ['src_alloc', 'Source allocation'],
  ['dst_alloc', 'Destination allocation'],
  ['node', 'Node'],
  ['verdict', 'Verdict'],
  ['drop_reason', 'Drop reason'],
  ['l4_protocol', 'L4 protocol'],
  ['l7_protocol', 'L7 protocol'],
  ['dst_port', 'Destination port'],
  ['src_port', 'Source port'],
  ['dst_scope', 'Destination scope'],
  ['src_scope', 'Source scope'],
  ['remote_ip', 'Remote address'],
  ['remote_24', 'Remote /24'],
  ['remote_owner', 'Remote owner'],
];

/**
 * The flows filter that selects one value of a dimension, or null when none does (an empty
 * value: "no owner" has no filter). Source and destination owners use the from-/to- words, so a
 * drill-down selects exactly the flows of its series.
 */
export function dimensionFilter(dim: string, value: string): Record<string, string> | null {
  if (value === '') return null;
  const end = /^(src|dst)_(tenant|account|namespace|job|alloc)$/.exec(dim);
  if (end) return { [`${end[1] === 'src' ? 'from' : 'to'}-${end[2]}`]: value };
  switch (dim) {
    case 'node':
      return { node: value };
    case 'verdict':
      return { verdict: value };
    case 'drop_reason':
      return { 'drop-reason': value };
    case 'l4_protocol':
      return value === 'NONE' ? null : { protocol: value.toLowerCase() };
    case 'l7_protocol':
      return { protocol: value };
    case 'dst_port':
      return value === '0' ? null : { 'to-port': value };
    case 'src_port':
      return value === '0' ? null : { 'from-port': value };
    case 'dst_scope':
      return value === 'unknown' ? null : { 'to-scope': value };
    case 'src_scope':
      return value === 'unknown' ? null : { 'from-scope': value };
    case 'remote_ip':
    case 'remote_24':
      return { ip: value };
    case 'remote_owner': {
      const slash = value.indexOf('/');
      return slash > 0 ? { tenant: value.slice(0, slash), account: value.slice(slash + 1) } : { fqdn: value };
    }
    default:
      return null;
  }
}

/** The flows filters of a group (all its dimension values), or null when one has no filter. */
export function groupFilters(dims: string[], key: string[]): Record<string, string> | null {
  const out: Record<string, string> = {};
  for (const [i, d] of dims.entries()) {
    const f = dimensionFilter(d, key[i] ?? '');
    if (!f) return null;
    Object.assign(out, f);
  }
  return out;
}

const labelOf = (key: string[]) => key.map((v) => v || '(none)').join(' · ');
const steps = ['', '10s', '1m', '5m', '15m', '1h', '1d'];
const views = [
  ['series', 'Stacked series'],
  ['grid', 'Grid'],
  ['sankey', 'Sankey'],
] as const;

/** The page's own parameters, with defaults. */
function settings(params: URLSearchParams) {
  const dims = (params.get('dimensions') ?? 'src_tenant').split(',').filter(Boolean).slice(0, 3);
  return {
    dims,
    n: params.get('n') ?? '10',
    step: params.get('step') ?? '',
    view: params.get('view') ?? 'series',
  };
}

/** The flows filters among the page parameters (as repeated values). */
function pageFilters(params: URLSearchParams): [string, string][] {
  return [...params.entries()].filter(([k]) => isFilterName(k));
}

function controls(params: URLSearchParams): HTMLElement {
  const s = settings(params);
  const dimSel = (i: number) =>
    h(
      'select',
      { name: `dimension-${i + 1}` },
      i > 0 ? h('option', { value: '' }, '(none)') : null,
      ...dimensions.map(([v, t]) => h('option', { value: v, selected: s.dims[i] === v }, t)),
    );
  const d1 = dimSel(0);
  const d2 = dimSel(1);
  const d3s = dimSel(2);
  const n = h(
    'select',
    { name: 'n' },
    ...['5', '10', '20', '50'].map((v) => h('option', { value: v, selected: s.n === v }, v)),
  );
  const step = h(
    'select',
    { name: 'step' },
    ...steps.map((v) => h('option', { value: v, selected: s.step === v }, v || 'Auto')),
  );
  const view = h(
    'select',
    { name: 'view' },
    ...views.map(([v, t]) => h('option', { value: v, selected: s.view === v }, t)),
  );
  const form = h(
    'form',
    { class: 'viz-controls', 'aria-label': 'What to visualize' },
    field('Dimension 1', d1),
    field('Dimension 2', d2),
    field('Dimension 3', d3s),
    field('Top', n),
    field('Step', step),
    field('View', view),
    h('button', { type: 'submit' }, 'Show'),
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const next = new URLSearchParams(params);
    const dims = [...new Set([d1.value, d2.value, d3s.value].filter(Boolean))];
    next.set('dimensions', dims.join(','));
    next.set('n', n.value);
    if (step.value) next.set('step', step.value);
    else next.delete('step');
    next.set('view', view.value);
    go(link('visualize', next));
  });
  return form;
}

/** The stacked series of the top groups plus "Other" (what the filters select beyond the top N). */
export function toTimeseries(v: Visualization): { ts: Timeseries; keys: Map<string, string[]> } {
  const keys = new Map<string, string[]>();
  const series = new Map<string, { t: string; count: number }[]>();
  for (const t of v.top) {
    keys.set(labelOf(t.key), t.key);
    series.set(labelOf(t.key), []);
  }
  const inTop = new Map<string, number>();
  for (const p of v.points) {
    series.get(labelOf(p.key))?.push({ t: p.time, count: p.flows });
    inTop.set(p.time, (inTop.get(p.time) ?? 0) + p.flows);
  }
  const other = v.totals
    .map((t) => ({ t: t.time, count: t.flows - (inTop.get(t.time) ?? 0) }))
    .filter((p) => p.count > 0);
  const out = [...series].map(([key, points]) => ({ key, points }));
  if (other.length) out.push({ key: 'Other', points: other });
  return { ts: { step_seconds: v.step_seconds, series: out }, keys };
}

function gridTable(v: Visualization, href: (key: string[]) => string | undefined): HTMLElement {
  const total = v.totals.reduce((a, t) => a + t.flows, 0);
  const label = (d: string) => dimensions.find(([k]) => k === d)?.[1] ?? d;
  return h(
    'table',
    { class: 'data viz-grid', 'data-testid': 'viz-grid' },
    h('caption', { class: 'sr-only' }, 'Top groups'),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ...v.dimensions.map((d) => h('th', { scope: 'col' }, label(d))),
        h('th', { scope: 'col', class: 'num' }, 'Flow events'),
        h('th', { scope: 'col', class: 'num' }, 'Dropped'),
        h('th', { scope: 'col', class: 'num' }, 'Share'),
      ),
    ),
    h(
      'tbody',
      {},
      ...v.top.map((t) => {
        const to = href(t.key);
        return h(
          'tr',
          { 'data-key': t.key.join('\u0000') },
          ...t.key.map((k, i) =>
            h(
              i === 0 ? 'th' : 'td',
              i === 0 ? { scope: 'row' } : {},
              i === 0 ? h('span', { class: 'swatch', style: `background:${colorOf(labelOf(t.key))}` }) : null,
              ` ${k || '(none)'}`,
            ),
          ),
          h(
            'td',
            { class: 'num' },
            to
              ? h(
                  'a',
                  { href: to, 'aria-label': `${fmtCount(t.flows)} flow events: ${labelOf(t.key)}` },
                  fmtCount(t.flows),
                )
              : fmtCount(t.flows),
          ),
          h('td', { class: 'num' }, fmtCount(t.drops)),
          h('td', { class: 'num' }, total ? `${((t.flows / total) * 100).toFixed(1)} %` : ''),
        );
      }),
    ),
  );
}

interface SNode {
  id: string;
  dim: number;
  name: string;
}

/** A sankey of consecutive dimensions: a band per pair of values, width by flow events. */
function sankeyChart(
  v: Visualization,
  width: number,
  href: (filters: Record<string, string>) => string | undefined,
): Element {
  if (v.dimensions.length < 2) {
    return h('p', { class: 'empty' }, 'A sankey needs at least two dimensions: choose a second one.');
  }
  const nodes = new Map<string, SNode>();
  const links = new Map<string, { source: string; target: string; value: number; key: string[] }>();
  for (const t of v.top) {
    for (let i = 0; i < t.key.length - 1; i++) {
      const a = `${i}:${t.key[i]}`;
      const b = `${i + 1}:${t.key[i + 1]}`;
      nodes.set(a, { id: a, dim: i, name: t.key[i] ?? '' });
      nodes.set(b, { id: b, dim: i + 1, name: t.key[i + 1] ?? '' });
      const id = `${a}\u0000${b}`;
      const l = links.get(id) ?? { source: a, target: b, value: 0, key: [] };
      l.value += t.flows;
      // A band between two adjacent values drills into those two values only.
      l.key = v.dimensions.map((_, j) => (j === i || j === i + 1 ? (t.key[j] ?? '') : ''));
      links.set(id, l);
    }
  }
  const height = Math.max(260, nodes.size * 22);
  const layout = sankey<SNode, { key: string[] }>()
    .nodeId((n) => n.id)
    .nodeWidth(12)
    .nodePadding(10)
    .extent([
      [1, 5],
      [width - 1, height - 5],
    ]);
  const graph = layout({
    nodes: [...nodes.values()].map((n) => ({ ...n })),
    links: [...links.values()].map((l) => ({ ...l })),
  });
  const svg = d3
    .create('svg')
    .attr('viewBox', `0 0 ${width} ${height}`)
    .attr('class', 'chart sankey')
    .attr('role', 'img')
    .attr('aria-label', `Sankey of ${v.dimensions.join(', ')}`);
  const pairHref = (l: SankeyLink<SNode, { key: string[] }>) => {
    const s = l.source as SankeyNode<SNode, { key: string[] }>;
    const dims = [v.dimensions[s.dim]!, v.dimensions[s.dim + 1]!];
    const f = groupFilters(dims, [l.key[s.dim] ?? '', l.key[s.dim + 1] ?? '']);
    return f ? href(f) : undefined;
  };
  svg
    .append('g')
    .attr('fill', 'none')
    .selectAll('path')
    .data(graph.links)
    .join('path')
    .attr('class', 'sankey-link')
    .attr('d', sankeyLinkHorizontal())
    .attr('stroke', (l) => colorOf((l.source as SNode).name))
    .attr('stroke-opacity', 0.45)
    .attr('stroke-width', (l) => Math.max(1, l.width ?? 1))
    .style('cursor', 'pointer')
    .on('click', (_ev, l) => {
      const to = pairHref(l);
      if (to) go(to);
    })
    .append('title')
    .text(
      (l) =>
        `${(l.source as SNode).name || '(none)'} → ${(l.target as SNode).name || '(none)'}: ${fmtCount(l.value)} flow events`,
    );
  const node = svg.append('g').selectAll('g').data(graph.nodes).join('g').attr('class', 'sankey-node');
  node
    .append('rect')
    .attr('x', (n) => n.x0 ?? 0)
    .attr('y', (n) => n.y0 ?? 0)
    .attr('height', (n) => Math.max(1, (n.y1 ?? 0) - (n.y0 ?? 0)))
    .attr('width', (n) => (n.x1 ?? 0) - (n.x0 ?? 0))
    .attr('fill', (n) => colorOf(n.name));
  node
    .append('text')
    .attr('x', (n) => ((n.x0 ?? 0) < width / 2 ? (n.x1 ?? 0) + 6 : (n.x0 ?? 0) - 6))
    .attr('y', (n) => ((n.y1 ?? 0) + (n.y0 ?? 0)) / 2)
    .attr('dy', '0.35em')
    .attr('text-anchor', (n) => ((n.x0 ?? 0) < width / 2 ? 'start' : 'end'))
    .attr('fill', 'currentColor')
    .text((n) => `${n.name || '(none)'} (${fmtCount(n.value ?? 0)})`);
  return svg.node() as SVGSVGElement;
}

async function render(ctx: PageContext): Promise<void> {
  const { root, params, session, signal } = ctx;
  const s = settings(params);
  const live = createLive();
  const bar = filterBar({ params, range: false, onApply: (next) => go(link('visualize', next)) });
  const result = h('div', { class: 'panel-body' });
  const base = pageFilters(params);
  const draw = () => {
    const win = windowOf(params);
    // Flows behind a group between two times: the page's filters plus the group's.
    const href = (key: string[], extra?: Record<string, string>, since = win.since, until = win.until) => {
      const f = extra ?? (key.length ? groupFilters(s.dims, key) : {});
      if (!f) return undefined;
      const p = new URLSearchParams(base);
      for (const [k, v] of Object.entries(f)) if (!p.getAll(k).includes(v)) p.append(k, v);
      p.set('since', since);
      p.set('until', until);
      return link('flows', p);
    };
    return live.round([
      live.section(
        result,
        async () => {
          try {
            const query: Record<string, string | string[]> = {
              since: win.since,
              until: win.until,
              dimensions: s.dims.join(','),
              n: s.n,
            };
            if (s.step) query['step'] = s.step;
            for (const [k, v] of base) query[k] = [...((query[k] as string[] | undefined) ?? []), v];
            const v = await session.api.visualize(query, signal);
            bar.showError(undefined, null);
            return v;
          } catch (err) {
            if (err instanceof ApiError && err.status === 400) bar.showError(err.param, err.message);
            throw err;
          }
        },
        (v) => {
          const { ts, keys } = toTimeseries(v);
          const chart =
            s.view === 'sankey'
              ? sankeyChart(v, Math.max(640, result.clientWidth), (f) => href([], f))
              : s.view === 'grid'
                ? null
                : stackedArea(ts, {
                    since: win.since,
                    until: win.until,
                    width: Math.max(640, result.clientWidth),
                    height: 300,
                    label: `Flow events per second by ${v.dimensions.join(', ')}`,
                    href: (label, since, until) => {
                      const key = keys.get(label);
                      return (
                        (key ? href(key, undefined, since, until) : undefined) ??
                        href([], {}, since, until) ??
                        ''
                      );
                    },
                    onZoom: (since, until) => go(link('visualize', zoomed(params, since, until))),
                  });
          return h(
            'div',
            { 'data-testid': 'viz-result', 'data-step': v.step_seconds },
            chart,
            gridTable(v, (k) => href(k)),
          );
        },
        'the visualization',
      ),
    ]);
  };
  replace(
    root,
    h(
      'div',
      { class: 'page-head' },
      h('h1', {}, 'Visualize'),
      timeRangePicker(params, (next) => go(link('visualize', next))),
      live.updated,
    ),
    controls(params),
    bar.el,
    h(
      'p',
      { class: 'note' },
      'Flow events (not bytes) of the top groups; "Other" is the rest of what the filters select. Click a number, a step or a band for its flows.',
    ),
    live.banner,
    panel('Result', result),
  );
  autoRefresh(params, signal, draw);
  await draw();
}

/** The Visualize page. */
export const visualizePage: Page = {
  name: 'visualize',
  title: 'Visualize',
  roles: ['admin', 'investigator', 'sre', 'tenant'],
  timeRange: true,
  render,
};

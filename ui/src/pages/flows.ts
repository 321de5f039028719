/**
 * Flows explorer: the filter bar (Hubble's vocabulary, inline messages from the API's 400s), the
 * console's shared time range picker, a virtualized table of stored flows sorted by the API
 * (a header click sorts by that column, again reverses), a detail drawer, cursor paging ("load
 * more" asks for the next page with the API's opaque cursor) and NDJSON / CSV export of the
 * same query, in the same order.
 * @module
 */
import { ApiError, type Params } from '../api.ts';
import { stackedArea } from '../charts/stacked-area.ts';
import { createDrawer } from '../components/drawer.ts';
import { ascending, filterBar, isFilterName } from '../components/filter-bar.ts';
import { flowColumnLabels, flowTable } from '../components/flow-table.ts';
import { apiRange, timeRangePicker } from '../components/time-range.ts';
import { h, replace, status } from '../dom.ts';
import { fmtCount, fmtTime } from '../format.ts';
import { go, link, type Page, type PageContext } from '../router.ts';
import type { Session } from '../session.ts';
import { stepFor, zoomed } from './overview.ts';

/** Hash parameters that are the page's own, never sent to the API. */
const pageOnly = new Set(['cols', 'range', 'refresh', 'since', 'until']);

/**
 * The API parameters of the explorer's hash parameters (all of them, repeated ones kept), with
 * the shared time range turned into since/until (a preset ends now, at load).
 */
export function apiParams(params: URLSearchParams): Params {
  const out: Record<string, string[]> = {};
  for (const k of new Set(params.keys())) if (!pageOnly.has(k)) out[k] = params.getAll(k);
  for (const [k, v] of Object.entries(apiRange(params))) out[k] = [v];
  if (!out['limit']) out['limit'] = ['500'];
  return out;
}

/**
 * The parameters after a click on the header of `key`: the same column again reverses the
 * order; another column sorts by it (time newest first, the others ascending).
 */
export function sortedBy(params: URLSearchParams, key: string): URLSearchParams {
  const next = new URLSearchParams(params);
  next.delete('cursor');
  const current = params.get('sort') ?? 'time';
  const asc = current === key ? !ascending(params) : key !== 'time';
  if (key === 'time') next.delete('sort');
  else next.set('sort', key);
  if (asc) next.set('order', 'oldest');
  else next.delete('order');
  return next;
}

/**
 * The export's parameters: the table's filters over the absolute window the API resolved for the
 * first page (a relative `since=-15m` would mean another window at click time), without the
 * page size or cursor (an export is every matching flow, up to the API's export cap).
 */
export function exportParams(query: Params, since?: string, until?: string): Params {
  const out: Params = { ...query };
  delete out['cursor'];
  delete out['limit'];
  if (since && until) {
    out['since'] = since;
    out['until'] = until;
  }
  return out;
}

/**
 * An export link: a real href (open mode and copy-link work), and with a token the click
 * downloads through fetch so the bearer header is sent.
 */
export function exportLink(
  session: Session,
  label: string,
  path: string,
  params: Params,
  filename: string,
): HTMLAnchorElement {
  const a = h('a', { href: session.api.url(path, params), download: filename, class: 'button' }, label);
  a.addEventListener('click', async (ev) => {
    if (!session.api.headers()['Authorization']) return;
    ev.preventDefault();
    try {
      const blob = await session.api.download(path, params);
      const url = URL.createObjectURL(blob);
      const tmp = h('a', { href: url, download: filename });
      document.body.append(tmp);
      tmp.click();
      tmp.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (err) {
      alert(`Export failed: ${(err as Error).message}`);
    }
  });
  return a;
}

/** The column chooser: the choice lives in the hash (`cols=Time (UTC),Source,…`). */
function columnChooser(params: URLSearchParams, cols: string[]): HTMLElement {
  const boxes = flowColumnLabels.map((c) =>
    h('input', { type: 'checkbox', name: 'col', value: c, checked: cols.length === 0 || cols.includes(c) }),
  );
  const form = h(
    'form',
    { class: 'col-chooser' },
    ...boxes.map((b) => h('label', {}, b, ` ${b.value}`)),
    h('button', { type: 'submit' }, 'Apply columns'),
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const chosen = boxes.filter((b) => b.checked).map((b) => b.value);
    const next = new URLSearchParams(params);
    next.delete('cursor');
    if (chosen.length === 0 || chosen.length === flowColumnLabels.length) next.delete('cols');
    else next.set('cols', chosen.join(','));
    go(link('flows', next));
  });
  return h('details', { class: 'columns' }, h('summary', {}, 'Columns'), form);
}

async function render(ctx: PageContext): Promise<void> {
  const { root, params, session, signal } = ctx;
  const drawer = createDrawer();
  const bar = filterBar({ params, onApply: (next) => go(link('flows', next)), times: false });
  const picker = timeRangePicker(params, (next) => go(link('flows', next)), '7d', false);
  const cols = (params.get('cols') ?? '').split(',').filter(Boolean);
  const table = flowTable(drawer, 'Flows', 520, cols, undefined, {
    key: params.get('sort') ?? 'time',
    descending: !ascending(params),
    onSort: (key) => go(link('flows', sortedBy(params, key))),
  });
  const chooser = columnChooser(params, cols);
  const info = h('p', { class: 'result-info', 'aria-live': 'polite' }, status('Loading…'));
  const more = h('button', { type: 'button', hidden: true }, 'Load next page');
  const query = apiParams(params);
  const histogram = h('div', { class: 'flow-histogram', 'data-testid': 'flow-histogram' });
  const exports = h('div', { class: 'exports', role: 'group', 'aria-label': 'Export' });
  /** Export links for the window the table shows (absolute, so a later click exports the same flows). */
  const drawExports = (since?: string, until?: string) => {
    const p = exportParams(query, since, until);
    replace(
      exports,
      chooser,
      exportLink(session, 'Export NDJSON', '/api/v1/flows', { ...p, format: 'ndjson' }, 'flows.ndjson'),
      exportLink(session, 'Export CSV', '/api/v1/flows', { ...p, format: 'csv' }, 'flows.csv'),
      h(
        'span',
        { class: 'hint' },
        since && until
          ? `Exports every matching flow from ${fmtTime(since)} to ${fmtTime(until)} UTC, not only the loaded pages.`
          : 'Exports use the same filters and range.',
      ),
    );
  };
  drawExports();
  replace(
    root,
    h('div', { class: 'page-head' }, h('h1', {}, 'Flows'), picker),
    h(
      'p',
      { class: 'note' },
      'Each row is one Hubble flow event (trace, drop, policy verdict or L7 record), not a connection or a byte count.',
    ),
    bar.el,
    histogram,
    h('div', { class: 'toolbar' }, info, exports),
    table.el,
    h('div', { class: 'pager' }, more),
    drawer.el,
  );

  /**
   * Total hits and their histogram over the window the table shows: the same filters through
   * /timeseries (by verdict), so the count is of every matching flow, not of the loaded pages.
   */
  const drawHistogram = async (since: string, until: string) => {
    const filters: Record<string, string[]> = {};
    for (const [k, v] of params) if (isFilterName(k)) filters[k] = [...(filters[k] ?? []), v];
    const seconds = Math.max(1, (Date.parse(until) - Date.parse(since)) / 1000);
    try {
      const ts = await session.api.timeseries(
        { ...filters, since, until, by: 'verdict', step: `${stepFor(seconds)}s` },
        signal,
      );
      const total = ts.series.reduce((a, s) => a + s.points.reduce((b, p) => b + p.count, 0), 0);
      replace(
        histogram,
        h(
          'p',
          { class: 'hits' },
          h('strong', { 'data-testid': 'hit-count' }, fmtCount(total)),
          ' matching flow events',
        ),
        stackedArea(ts, {
          since,
          until,
          width: Math.max(640, histogram.clientWidth),
          height: 120,
          label: 'Matching flow events per second by verdict',
          href: (key, s, u) => {
            const next = zoomed(params, s, u);
            next.delete('cursor');
            if (!next.getAll('verdict').includes(key)) next.append('verdict', key);
            return link('flows', next);
          },
          onZoom: (s, u) => {
            const next = zoomed(params, s, u);
            next.delete('cursor');
            go(link('flows', next));
          },
        }),
      );
    } catch (err) {
      if ((err as Error).name !== 'AbortError') replace(histogram, '');
    }
  };
  let cursor: string | null = null;
  let pages = 0;
  const load = async () => {
    more.disabled = true;
    try {
      const page = await session.api.flows({ ...query, ...(cursor ? { cursor } : {}) }, signal);
      pages += 1;
      if (pages === 1) {
        drawExports(page.since, page.until);
        void drawHistogram(page.since, page.until);
      }
      if (pages === 1) table.setRows(page.flows);
      else table.appendRows(page.flows);
      cursor = page.next_cursor;
      more.hidden = !cursor;
      more.disabled = false;
      bar.showError(undefined, null);
      replace(
        info,
        `${fmtCount(table.rows.length)} flow events loaded (${pages} page${pages > 1 ? 's' : ''}) from ${fmtTime(page.since)} to ${fmtTime(page.until)} UTC${cursor ? '; more available' : ''}.`,
      );
    } catch (err) {
      if ((err as Error).name === 'AbortError') return;
      if (err instanceof ApiError && err.status === 400) {
        bar.showError(err.param, err.message);
        replace(info, status('Fix the highlighted filter.', 'error'));
      } else {
        replace(info, status(`Could not load flows: ${(err as Error).message}`, 'error'));
      }
    }
  };
  more.addEventListener('click', () => void load());
  await load();
}

/** The flows explorer page. */
export const flowsPage: Page = {
  name: 'flows',
  title: 'Flows',
  roles: ['admin', 'investigator', 'sre', 'tenant'],
  timeRange: true,
  render,
};

/**
 * The cluster-wide service map: every owner (tenant/job) and peer in the range, addresses
 * grouped (by /24, into one "world" node, or not at all), narrowed by the dashboard variables.
 * The per-tenant map lives on the tenant page; both draw with charts/service-map.ts.
 * @module
 */
import type { TopologyEdge } from '../api.ts';
import { groupEdges, serviceMap } from '../charts/service-map.ts';
import { dashVars, varsOf } from '../components/dash-vars.ts';
import { createLive } from '../components/live.ts';
import { autoRefresh, timeRangePicker, windowOf } from '../components/time-range.ts';
import { h, panel, replace } from '../dom.ts';
import { go, link, type Page, type PageContext } from '../router.ts';
import { flowsLink } from './overview.ts';
import { edgeFilters, groupControl, groupingOf } from './tenant.ts';

async function render(ctx: PageContext): Promise<void> {
  const { root, params, session, signal } = ctx;
  const live = createLive();
  const box = h('div', { class: 'panel-body' });
  const grouping = groupingOf(params);
  const draw = () => {
    const win = windowOf(params);
    const vars = varsOf(params);
    const open = (e: TopologyEdge) => go(flowsLink(win, { ...vars, ...edgeFilters(e) }));
    return live.round([
      live.section(
        box,
        () => session.api.topology({ since: win.since, until: win.until, ...vars, edges: 300 }, signal),
        (raw) => {
          const edges = groupEdges(raw, grouping);
          return h(
            'div',
            {},
            groupControl(params, (next) => go(link('map', next))),
            edges.length
              ? serviceMap(edges, {
                  tenant: vars['tenant'] ?? '',
                  onEdge: open,
                  width: Math.max(900, box.clientWidth),
                  height: 640,
                })
              : h('p', { class: 'empty' }, 'No traffic in this range.'),
          );
        },
        'the service map',
      ),
    ]);
  };
  replace(
    root,
    h(
      'div',
      { class: 'page-head' },
      h('h1', {}, 'Service map'),
      timeRangePicker(params, (next) => go(link('map', next))),
      live.updated,
    ),
    dashVars(params, (next) => go(link('map', next))),
    h(
      'p',
      { class: 'note' },
      'Owners (tenant/job) and the addresses they talk to, for the whole cluster; lines are coloured by verdict (red dashed: dropped events). Scroll to zoom, drag to pan or move a node, click an edge for its flows.',
    ),
    live.banner,
    panel('Cluster service map', box),
  );
  autoRefresh(params, signal, draw);
  await draw();
}

/** The cluster-wide service map page. */
export const mapPage: Page = {
  name: 'map',
  title: 'Service map',
  roles: ['admin', 'investigator', 'sre'],
  timeRange: true,
  render,
};

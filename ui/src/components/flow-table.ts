/**
 * The flow table and detail drawer, shared by the explorer and the investigation page: time with
 * all of Hubble's sub-second digits, both ends with owner and address, ports, verdict, event
 * type and summary; the drawer lists every stored field and the Hubble JSON.
 * @module
 */
import type { FlowLine, Owner } from '../api.ts';
import { colorOf } from '../charts/colors.ts';
import { h } from '../dom.ts';
import { eventType, flatten, hubbleJson, ownerLabel, ports, summary } from '../flow-view.ts';
import { fmtAddr, fmtTime } from '../format.ts';
import type { Drawer } from './drawer.ts';
import { ownerTargets, type PivotTarget, pivot } from './pivot.ts';
import { type Column, type TableSort, type VirtualTable, virtualTable } from './virtual-table.ts';

/** The flows query a table shows, for "Exclude it" (see PivotTarget.base). */
type PivotBase = PivotTarget['base'];

/** A flow end: its address and its owner, each a pivot menu (the owner's: allocation, job, account, tenant). */
function endCell(
  owner: Owner | null,
  label: string,
  ip: string | undefined,
  at: string | undefined,
  base: PivotBase,
): Node {
  const targets = owner ? ownerTargets(owner, at, base) : [];
  return h(
    'span',
    { class: 'end' },
    h('span', { class: 'addr' }, ip ? pivot({ kind: 'ip', value: ip, at, base }) : ''),
    label
      ? h(
          'span',
          { class: owner ? 'owner' : 'owner unowned' },
          targets.length ? pivot(targets, label) : label,
        )
      : null,
  );
}

function endTitle(owner: Owner | null, label: string, ip: string | undefined): string {
  const o = owner
    ? ` tenant=${owner.tenant} account=${owner.account} job=${owner.job} alloc=${owner.alloc_id} (${owner.source})`
    : '';
  return `${label} ${ip ?? ''}${o}`.trim();
}

/** The Source or Destination column: the end's address and owner (a pivot menu each), its full identity as the tooltip. */
function endColumn(
  label: string,
  sortKey: string,
  end: 'source' | 'destination',
  base: PivotBase,
): Column<FlowLine> {
  const owner = (l: FlowLine) => l.attribution?.[end] ?? null;
  const name = (l: FlowLine) => ownerLabel(owner(l), l.flow[end], l.flow[`${end}_names`]);
  return {
    label,
    sortKey,
    width: 'minmax(9rem,1.3fr)',
    cell: (l) => endCell(owner(l), name(l), l.flow.IP?.[end], l.flow.time, base),
    title: (l) =>
      endTitle(owner(l), name(l), fmtAddr(l.flow.IP?.[end], ports(l.flow)[end === 'source' ? 'src' : 'dst'])),
  };
}

/** The detail content of one flow: owners, every stored field, and the Hubble JSON. */
export function flowDetail(line: FlowLine, base?: PivotBase): HTMLElement {
  const rows = flatten(line);
  const at = line.flow.time;
  // Owner values and addresses are pivot menus (filter flows, investigate, activity, who held).
  const value = (k: string, v: string): Node | string => {
    const kind = ({ tenant: 'tenant', account: 'account', job: 'job', alloc_id: 'alloc' } as const)[
      k as 'tenant'
    ];
    return kind && v ? pivot({ kind, value: v, at, base }) : v || '—';
  };
  const ownerTable = (name: string, o: Owner | null, ip: string | undefined) =>
    h(
      'div',
      { class: 'owner-card' },
      h('h3', {}, name, ip ? ' ' : '', ip ? pivot({ kind: 'ip', value: ip, at, base }) : ''),
      o
        ? h(
            'dl',
            {},
            ...(
              [
                'tenant',
                'account',
                'namespace',
                'job',
                'group',
                'alloc_id',
                'alloc_name',
                'node',
                'source',
              ] as const
            ).flatMap((k) => [h('dt', {}, k), h('dd', {}, value(k, o[k]))]),
          )
        : h('p', { class: 'empty' }, 'Not attributed (no label, ownership interval, node or CIDR matched).'),
    );
  return h(
    'div',
    { class: 'flow-detail' },
    h(
      'div',
      { class: 'owners' },
      ownerTable('Source owner', line.attribution?.source ?? null, line.flow.IP?.source),
      ownerTable('Destination owner', line.attribution?.destination ?? null, line.flow.IP?.destination),
    ),
    h('h3', {}, 'Every stored field'),
    h(
      'table',
      { class: 'data fields' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Field'), h('th', { scope: 'col' }, 'Value'))),
      h(
        'tbody',
        {},
        ...rows.map(([k, v]) => h('tr', {}, h('th', { scope: 'row' }, h('code', {}, k)), h('td', {}, v))),
      ),
    ),
    h('h3', {}, 'Hubble JSON'),
    h(
      'pre',
      { class: 'json', tabindex: 0, 'aria-label': 'Hubble JSON of this flow' },
      JSON.stringify(hubbleJson(line), null, 2),
    ),
  );
}

/** The table's column labels, in order (the flows page's column chooser offers them). */
export const flowColumnLabels = [
  'Time (UTC)',
  'Source',
  'Src port',
  'Destination',
  'Dst port',
  'Verdict',
  'Type',
  'Summary',
] as const;

/**
 * Builds a flow table whose rows open the drawer; `visible` (column labels) hides the others
 * (all shown when absent or empty). Addresses and owners in the cells are pivot menus; `base` is
 * the query the table shows, which their "Exclude it" narrows (the flows page's own query when absent).
 * With `sort`, headers sort by the flows API's `sort` keys.
 */
export function flowTable(
  drawer: Drawer,
  label: string,
  height = 520,
  visible?: readonly string[],
  base?: PivotBase,
  sort?: TableSort,
): VirtualTable<FlowLine> {
  const columns: Column<FlowLine>[] = [
    {
      label: 'Time (UTC)',
      sortKey: 'time',
      width: '15.5rem',
      cell: (l) => h('time', { datetime: l.flow.time ?? '' }, fmtTime(l.flow.time ?? l.time)),
    },
    endColumn('Source', 'src_ip', 'source', base),
    { label: 'Src port', sortKey: 'src_port', width: '4.4rem', cell: (l) => String(ports(l.flow).src ?? '') },
    endColumn('Destination', 'dst_ip', 'destination', base),
    { label: 'Dst port', sortKey: 'dst_port', width: '4.4rem', cell: (l) => String(ports(l.flow).dst ?? '') },
    {
      label: 'Verdict',
      sortKey: 'verdict',
      width: '7.6rem',
      cell: (l) =>
        h('span', { class: 'verdict', style: `--c:${colorOf(l.flow.verdict ?? '')}` }, l.flow.verdict ?? ''),
    },
    { label: 'Type', sortKey: 'type', width: '7.5rem', cell: (l) => eventType(l.flow) },
    {
      label: 'Summary',
      width: 'minmax(7rem,1.5fr)',
      cell: (l) => summary(l.flow),
      title: (l) => summary(l.flow),
    },
  ];
  return virtualTable<FlowLine>({
    label,
    height,
    empty: 'No flows match.',
    columns: visible?.length ? columns.filter((c) => visible.includes(c.label)) : columns,
    onOpen: (l) => drawer.open(`Flow at ${fmtTime(l.flow.time ?? l.time)}`, flowDetail(l, base)),
    ...(sort ? { sort } : {}),
  });
}

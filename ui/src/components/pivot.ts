/**
 * The pivot menu: every address, allocation, job, account and tenant the UI shows is one of
 * these — a disclosure whose menu leads to the flows filtered by it, an investigation of it, its
 * activity ±1 h around the instant in view, and (for an address) who held it at that instant.
 * Plain links, so each pivot can be opened in a new tab and shared.
 * @module
 */
import { h } from '../dom.ts';
import { link } from '../router.ts';

/** What a pivot is about, and the instant in view (for ±1 h windows and who-held). */
export interface PivotTarget {
  kind: 'ip' | 'alloc' | 'job' | 'account' | 'tenant';
  value: string;
  /** Shown instead of the value (e.g. an allocation's name). */
  label?: string | undefined;
  /** RFC 3339 instant the value was seen at; default now. */
  at?: string | undefined;
}

const hour = 3_600_000;

/** The menu entries of a pivot: [label, href], in order. */
export function pivotLinks(t: PivotTarget): [string, string][] {
  const atMs = t.at ? Date.parse(t.at) : Date.now();
  const at = new Date(Number.isNaN(atMs) ? Date.now() : atMs);
  const since = new Date(at.getTime() - hour).toISOString();
  const until = new Date(at.getTime() + hour).toISOString();
  const out: [string, string][] = [
    ['Filter flows by it', link('flows', { [t.kind]: t.value, since, until })],
  ];
  if (t.kind === 'ip') {
    out.push(
      [
        'Investigate it',
        link('investigate', { indicator: t.value, at: at.toISOString(), tolerance: '3600' }),
      ],
      ['Activity ±1 h', link('flows', { ip: t.value, since, until })],
      ['Who held it at this instant', link('who', { ip: t.value, at: at.toISOString() })],
    );
  } else if (t.kind === 'job') {
    out.push(['Activity ±1 h', link('flows', { job: t.value, since, until })]);
  } else {
    const activity = link('activity', { [t.kind]: t.value, since, until });
    out.push(['Investigate it', activity], ['Activity ±1 h', activity]);
  }
  return out;
}

/** A pivot menu for `t`. */
export function pivot(t: PivotTarget): HTMLElement {
  const menu = h(
    'ul',
    { class: 'pivot-menu', role: 'menu' },
    ...pivotLinks(t).map(([label, href]) =>
      h('li', { role: 'none' }, h('a', { role: 'menuitem', class: 'pivot-link', href }, label)),
    ),
  );
  const el = h(
    'details',
    { class: 'pivot', 'data-pivot-kind': t.kind, 'data-pivot-value': t.value },
    h('summary', { title: `${t.kind} ${t.value}` }, t.label || t.value),
    menu,
  );
  // One menu open at a time; a click elsewhere closes it.
  el.addEventListener('toggle', () => {
    if (!el.open) return;
    for (const other of document.querySelectorAll<HTMLDetailsElement>('details.pivot[open]'))
      if (other !== el) other.open = false;
  });
  return el;
}

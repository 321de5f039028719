/**
 * The pivot menu: every address, allocation, job, account and tenant the UI shows is one of
 * these — a button whose menu leads to the flows filtered by it, the flows without it (exclude
 * it), an investigation of it, its activity ±1 h around the instant in view, and (for an
 * address) who held it at that instant. Plain links, so each pivot can be opened in a new tab
 * and shared.
 *
 * The menu is a popover (the browser's top layer), so it shows whole inside clipped, scrolled
 * or transformed containers such as the virtual flow table's cells, closes on Escape or a click
 * elsewhere, and one is open at a time. Clicks and keys inside a pivot stay in it: a pivot in a
 * table row does not also open the row.
 * @module
 */
import { h, uid } from '../dom.ts';
import { link, parseHash } from '../router.ts';

/** Kinds of values a pivot is about. */
export type PivotKind = 'ip' | 'alloc' | 'job' | 'account' | 'tenant';

/** What a pivot is about, and the instant in view (for ±1 h windows and who-held). */
export interface PivotTarget {
  kind: PivotKind;
  value: string;
  /** Shown instead of the value (e.g. an allocation's name). */
  label?: string | undefined;
  /** RFC 3339 instant the value was seen at; default now. */
  at?: string | undefined;
  /**
   * The flows query the view shows (flows-page parameters): "Exclude it" leaves the value out
   * of these flows. On the flows page the current query is used; elsewhere, without a base, the
   * exclusion applies to every flow ±1 h around `at`.
   */
  base?: Readonly<Record<string, string | readonly string[] | undefined>> | undefined;
}

const hour = 3_600_000;

/** The flows-page parameters of `base` plus `not-<kind>=<value>` (kept once). */
function excludeParams(t: PivotTarget, since: string, until: string): URLSearchParams {
  const route = typeof location === 'undefined' ? undefined : parseHash(location.hash);
  const q = new URLSearchParams();
  if (route?.name === 'flows') for (const [k, v] of route.params) q.append(k, v);
  else if (t.base) {
    for (const [k, v] of Object.entries(t.base)) {
      if (v === undefined || v === '') continue;
      for (const x of typeof v === 'string' ? [v] : v) q.append(k, x);
    }
  } else {
    q.set('since', since);
    q.set('until', until);
  }
  q.delete('cursor');
  const word = `not-${t.kind}`;
  if (!q.getAll(word).includes(t.value)) q.append(word, t.value);
  return q;
}

/** The menu entries of a pivot: [label, href], in order. */
export function pivotLinks(t: PivotTarget): [string, string][] {
  const atMs = t.at ? Date.parse(t.at) : Date.now();
  const at = new Date(Number.isNaN(atMs) ? Date.now() : atMs);
  const since = new Date(at.getTime() - hour).toISOString();
  const until = new Date(at.getTime() + hour).toISOString();
  const out: [string, string][] = [
    ['Filter flows by it', link('flows', { [t.kind]: t.value, since, until })],
    ['Exclude it', link('flows', excludeParams(t, since, until))],
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

const kindName: Record<PivotKind, string> = {
  ip: 'address',
  alloc: 'allocation',
  job: 'job',
  account: 'account',
  tenant: 'tenant',
};

/** Places an open menu under its button (above it when there is no room below), inside the viewport. */
function place(menu: HTMLElement, trigger: HTMLElement): void {
  const r = trigger.getBoundingClientRect();
  const m = menu.getBoundingClientRect();
  const below = r.bottom + 2 + m.height <= window.innerHeight;
  const top = below ? r.bottom + 2 : Math.max(4, r.top - 2 - m.height);
  const left = Math.max(4, Math.min(r.left, window.innerWidth - m.width - 4));
  menu.style.top = `${top}px`;
  menu.style.left = `${left}px`;
}

/**
 * A pivot menu for one target, or for several under one button (a flow end's owner: its
 * allocation, job, account and tenant, each a group of the menu). The button shows `text`
 * (default: the single target's label or value).
 */
export function pivot(target: PivotTarget | readonly PivotTarget[], text?: string): HTMLElement {
  const targets = (Array.isArray(target) ? target : [target]) as readonly PivotTarget[];
  const one = targets.length === 1 ? targets[0] : undefined;
  const id = uid('pivot');
  const menu = h('div', { class: 'pivot-menu', role: 'menu', id, popover: 'auto' });
  const shown = text ?? (one ? one.label || one.value : targets.map((t) => t.label || t.value).join(' · '));
  const trigger = h(
    'button',
    {
      type: 'button',
      class: 'pivot-trigger',
      popovertarget: id,
      'aria-haspopup': 'menu',
      'aria-expanded': 'false',
      title: targets.map((t) => `${kindName[t.kind]} ${t.value}`).join('\n'),
    },
    shown,
  );
  const el = h(
    'span',
    {
      class: 'pivot',
      'data-pivot-kind': one ? one.kind : 'owner',
      'data-pivot-value': one ? one.value : targets.map((t) => t.value).join(' '),
    },
    trigger,
    menu,
  );
  const items = () => [...menu.querySelectorAll<HTMLElement>('[role="menuitem"]')];
  // Built when opened, so "Exclude it" starts from the query shown at that moment.
  menu.addEventListener('beforetoggle', (ev) => {
    if ((ev as ToggleEvent).newState !== 'open') return;
    const group = (t: PivotTarget) =>
      h(
        'div',
        { role: 'group', 'aria-label': `${kindName[t.kind]} ${t.value}`, 'data-pivot-kind': t.kind },
        one ? null : h('div', { class: 'pivot-head' }, `${kindName[t.kind]} ${t.label || t.value}`),
        ...pivotLinks(t).map(([label, href]) =>
          h('a', { role: 'menuitem', class: 'pivot-link', href, tabindex: -1 }, label),
        ),
      );
    menu.replaceChildren(...targets.map(group));
    menu.style.top = '0px';
    menu.style.left = '0px';
  });
  let onScroll: (() => void) | undefined;
  menu.addEventListener('toggle', (ev) => {
    const open = (ev as ToggleEvent).newState === 'open';
    trigger.setAttribute('aria-expanded', String(open));
    if (open) {
      place(menu, trigger);
      items()[0]?.focus();
      // A fixed menu would drift from its button when the page scrolls: close it instead.
      onScroll = () => menu.hidePopover();
      window.addEventListener('scroll', onScroll, { capture: true, once: true, passive: true });
    } else if (onScroll) {
      window.removeEventListener('scroll', onScroll, { capture: true });
      onScroll = undefined;
    }
  });
  menu.addEventListener('click', (ev) => {
    if ((ev.target as HTMLElement).closest('a')) menu.hidePopover();
  });
  menu.addEventListener('keydown', (ev) => {
    const list = items();
    const i = list.indexOf(document.activeElement as HTMLElement);
    const next = { ArrowDown: i + 1, ArrowUp: i - 1, Home: 0, End: list.length - 1 }[ev.key];
    if (next === undefined) return;
    ev.preventDefault();
    list[(next + list.length) % list.length]?.focus();
  });
  // A pivot inside a table row is not a click or a key on the row.
  el.addEventListener('click', (ev) => ev.stopPropagation());
  el.addEventListener('keydown', (ev) => {
    if (ev.key !== 'Tab') ev.stopPropagation();
  });
  return el;
}

/** The pivots of a flow end's owner: allocation, job, account and tenant (those it has). */
export function ownerTargets(
  o: { tenant: string; account: string; job: string; alloc_id: string; alloc_name: string },
  at: string | undefined,
  base?: PivotTarget['base'],
): PivotTarget[] {
  const out: PivotTarget[] = [];
  if (o.alloc_id) out.push({ kind: 'alloc', value: o.alloc_id, label: o.alloc_name || o.alloc_id, at, base });
  if (o.job) out.push({ kind: 'job', value: o.job, at, base });
  if (o.account) out.push({ kind: 'account', value: o.account, at, base });
  if (o.tenant) out.push({ kind: 'tenant', value: o.tenant, at, base });
  return out;
}

/**
 * Who held this address: an address and an instant → the owner then, the previous and the next
 * holders, each with the source of the attribution and its interval, and the label/ownership
 * conflict when the API reports one. Reached from the investigate page and from every address
 * pivot (components/pivot.ts); the question stays in the link.
 * @module
 */
import { ApiError, type AttributionAnswer, type Owner } from '../api.ts';
import { pivot } from '../components/pivot.ts';
import { field, h, panel, replace, status } from '../dom.ts';
import { fmtTime, fromLocalInput, toLocalInput } from '../format.ts';
import { link, type Page, type PageContext, replaceHash } from '../router.ts';

function holderRow(label: string, o: Owner | null, at: string): HTMLElement {
  if (!o)
    return h(
      'tr',
      { 'data-holder': label.toLowerCase() },
      h('th', { scope: 'row' }, label),
      h('td', { colspan: 7 }, 'nobody'),
    );
  return h(
    'tr',
    { 'data-holder': label.toLowerCase(), 'data-tenant': o.tenant, 'data-account': o.account },
    h('th', { scope: 'row' }, label),
    h('td', {}, o.tenant ? pivot({ kind: 'tenant', value: o.tenant, at }) : '—'),
    h('td', {}, o.account ? pivot({ kind: 'account', value: o.account, at }) : '—'),
    h('td', {}, o.job || '—'),
    h('td', {}, o.alloc_id ? pivot({ kind: 'alloc', value: o.alloc_id, label: o.alloc_name, at }) : '—'),
    h('td', {}, o.node || '—'),
    h('td', {}, `${fmtTime(o.start)} → ${o.end ? fmtTime(o.end) : 'still held'}`),
    h('td', { 'data-testid': 'source' }, o.source),
  );
}

async function render(ctx: PageContext): Promise<void> {
  const { root, params, session, signal } = ctx;
  const ip = h('input', {
    type: 'text',
    name: 'ip',
    value: params.get('ip') ?? '',
    placeholder: '10.42.1.10',
    spellcheck: 'false',
  });
  const at = h('input', {
    type: 'datetime-local',
    step: 1,
    name: 'at',
    value: toLocalInput(params.get('at') ?? new Date().toISOString()),
  });
  const out = h('div', { 'aria-live': 'polite' });
  const form = h(
    'form',
    { class: 'investigate-form panel', 'aria-label': 'Who held an address' },
    field('Address', ip),
    field('At (UTC)', at),
    h('button', { type: 'submit' }, 'Who held it'),
  );
  const ask = async (addr: string, instant: string) => {
    replace(out, status('Asking…'));
    try {
      const a: AttributionAnswer & { conflict?: unknown } = await session.api.attribution(
        addr,
        instant,
        signal,
      );
      const conflict = a.conflict
        ? h(
            'p',
            { class: 'conflict', 'data-testid': 'conflict' },
            `⚠ Labels and ownership disagree: ${typeof a.conflict === 'string' ? a.conflict : JSON.stringify(a.conflict)}`,
          )
        : null;
      replace(
        out,
        panel(
          `Who held ${a.ip} at ${fmtTime(a.at)} UTC`,
          conflict,
          h(
            'table',
            { class: 'data holders', 'data-testid': 'holders' },
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                ...['', 'Tenant', 'Account', 'Job', 'Allocation', 'Node', 'Held', 'Source'].map((c) =>
                  h('th', { scope: 'col' }, c),
                ),
              ),
            ),
            h(
              'tbody',
              {},
              holderRow('Previous', a.previous, a.at),
              holderRow('Owner', a.owner, a.at),
              holderRow('Next', a.next, a.at),
            ),
          ),
          h(
            'p',
            {},
            h(
              'a',
              { href: link('investigate', { indicator: a.ip, at: a.at, tolerance: '3600' }) },
              'Investigate this address ±1 h',
            ),
          ),
        ),
      );
    } catch (err) {
      if (err instanceof ApiError && err.status === 400) replace(out, status(err.message, 'error'));
      else if ((err as Error).name !== 'AbortError')
        replace(out, status(`Could not ask: ${(err as Error).message}`, 'error'));
    }
  };
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const instant = fromLocalInput(at.value) ?? at.value;
    replaceHash(link('who', { ip: ip.value.trim(), at: instant }));
    void ask(ip.value.trim(), instant);
  });
  replace(
    root,
    h('div', { class: 'page-head' }, h('h1', {}, 'Who held this address')),
    h(
      'p',
      { class: 'note' },
      'Addresses are reused: the owner at an instant comes from the Nomad ownership intervals (the authority on which allocation held it), with netreap labels as evidence.',
    ),
    form,
    out,
  );
  const q = params.get('ip');
  if (q) await ask(q, params.get('at') ?? new Date().toISOString());
}

/** The who-held page (not in the navigation: reached from pivots and the investigate page). */
export const whoPage: Page = {
  name: 'who',
  title: 'Who held',
  roles: ['admin', 'investigator', 'sre'],
  nav: false,
  render,
};

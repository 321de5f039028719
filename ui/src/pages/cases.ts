/**
 * Cases: the saved investigations with their status, assignee, linked incidents and notes,
 * filtered by mine / status / tenant (GET /api/v1/cases). Each case opens on the investigate page.
 * @module
 */
import type { CaseSummary } from '../api.ts';
import { incidentLinks } from '../components/case-panel.ts';
import { pivot } from '../components/pivot.ts';
import { field, h, panel, replace, status } from '../dom.ts';
import { fmtTime } from '../format.ts';
import { go, link, type Page, type PageContext } from '../router.ts';

async function render(ctx: PageContext): Promise<void> {
  const { root, params, session, signal } = ctx;
  const mine = h('input', { type: 'checkbox', name: 'mine', checked: params.get('mine') === 'true' });
  const st = h(
    'select',
    { name: 'status' },
    ...['', 'open', 'escalated', 'closed'].map((v) =>
      h('option', { value: v, selected: (params.get('status') ?? '') === v }, v || 'any'),
    ),
  );
  const tenant = h('input', { type: 'text', name: 'tenant', value: params.get('tenant') ?? '' });
  const form = h(
    'form',
    { class: 'investigate-form panel', 'aria-label': 'Filter cases' },
    field('Mine only', mine),
    field('Status', st),
    field('Tenant', tenant),
    h('button', { type: 'submit' }, 'Filter'),
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    go(
      link('cases', {
        mine: mine.checked ? 'true' : undefined,
        status: st.value,
        tenant: tenant.value.trim(),
      }),
    );
  });
  const out = h('div', {}, status('Loading…'));
  replace(
    root,
    h('div', { class: 'page-head' }, h('h1', {}, 'Cases')),
    h(
      'p',
      { class: 'note' },
      'Open a case to change its status, assignee and linked incidents, or to add notes. ',
      h('a', { href: link('report') }, 'Import an abuse report'),
      ' · ',
      h('a', { href: link('investigate') }, 'New investigation'),
    ),
    form,
    out,
  );
  const q: Record<string, string> = {};
  for (const k of ['mine', 'status', 'tenant']) if (params.get(k)) q[k] = params.get(k) ?? '';
  try {
    const { cases } = await session.api.request<{ cases: CaseSummary[] }>(
      'GET',
      '/api/v1/cases',
      q,
      undefined,
      signal,
    );
    replace(
      out,
      panel(
        `${cases.length} cases`,
        h(
          'table',
          { class: 'data cases', 'data-testid': 'cases' },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ...[
                'Case',
                'Created',
                'By',
                'Report',
                'Top account',
                'Status',
                'Assignee',
                'Incidents',
                'Notes',
              ].map((c) => h('th', { scope: 'col' }, c)),
            ),
          ),
          h(
            'tbody',
            {},
            ...cases.map((c) => {
              const r = (c.request ?? {}) as Record<string, unknown>;
              const what =
                [r['indicator'], r['remote']].filter(Boolean).join(' ↔ ') +
                (r['port'] !== undefined ? `:${r['port']}` : '');
              return h(
                'tr',
                { 'data-case': c.id, 'data-status': c.status },
                h(
                  'td',
                  {},
                  h('a', { href: link('investigate', { id: c.id }) }, h('code', {}, c.id.slice(0, 8))),
                ),
                h('td', {}, fmtTime(c.created_at)),
                h('td', {}, c.created_by),
                h('td', {}, what),
                h(
                  'td',
                  {},
                  c.top_account?.account
                    ? pivot({ kind: 'account', value: c.top_account.account, at: c.created_at })
                    : '—',
                ),
                h('td', {}, c.status),
                h('td', {}, c.assignee || '—'),
                h('td', {}, ...(c.linked_incidents.length ? incidentLinks(c.linked_incidents) : ['—'])),
                h('td', { class: 'num' }, String(c.notes)),
              );
            }),
          ),
        ),
      ),
    );
  } catch (err) {
    if ((err as Error).name !== 'AbortError')
      replace(out, status(`Could not list cases: ${(err as Error).message}`, 'error'));
  }
}

/** The cases page (linked from the investigate page, not in the navigation). */
export const casesPage: Page = {
  name: 'cases',
  title: 'Cases',
  roles: ['admin', 'investigator', 'tenant'],
  nav: false,
  render,
};

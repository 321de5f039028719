/**
 * Activity of one owner (allocation, account or tenant) over a window: its peers aggregated by
 * direction, remote address and owner, port and protocol (GET /api/v1/activity). The target of
 * the "activity ±1 h" pivot; every peer is itself a pivot.
 * @module
 */
import { ApiError } from '../api.ts';
import { pivot } from '../components/pivot.ts';
import { h, panel, replace, status } from '../dom.ts';
import { fmtCount, fmtTime } from '../format.ts';
import type { Page, PageContext } from '../router.ts';

/** One peer row of the answer. */
interface Peer {
  direction: 'out' | 'in';
  peer_ip: string;
  peer_names: string[];
  peer_tenant: string;
  peer_account: string;
  peer_job: string;
  peer_alloc_name: string;
  peer_scope: string;
  port: number;
  protocol: string;
  flows: number;
  verdicts: Record<string, number>;
  first_seen: string;
  last_seen: string;
}

async function render(ctx: PageContext): Promise<void> {
  const { root, params, session, signal } = ctx;
  const head = h('div', { class: 'page-head' }, h('h1', {}, 'Activity'));
  if (![...params.keys()].length) {
    replace(root, head, status('Open an activity from a pivot: an allocation, account or tenant.', 'error'));
    return;
  }
  // The parameters go to the API as they are; which owner they name is read from its answer
  // (`owner`), so the page never parses owner fields the API already validates.
  const q: Record<string, string> = Object.fromEntries(params);
  replace(root, head, status('Loading…'));
  try {
    const a = await session.api.request<{
      owner: { kind: 'alloc' | 'account' | 'tenant'; value: string };
      since: string;
      until: string;
      peers: Peer[];
      truncated: boolean;
    }>('GET', '/api/v1/activity', q, undefined, signal);
    const { kind, value } = a.owner;
    const mid = new Date((Date.parse(a.since) + Date.parse(a.until)) / 2).toISOString();
    replace(
      root,
      head,
      h(
        'p',
        { class: 'result-info' },
        `${kind} `,
        pivot({ kind, value, at: mid }),
        ` · ${fmtTime(a.since)} → ${fmtTime(a.until)} UTC · ${fmtCount(a.peers.length)} peers${a.truncated ? ' (most active first; more exist)' : ''}. Counts are flow events; Hubble carries no byte counts.`,
      ),
      panel(
        'Peers',
        h(
          'table',
          { class: 'data peers', 'data-testid': 'peers' },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ...[
                'Direction',
                'Peer',
                'Peer owner',
                'Port',
                'Protocol',
                'Flow events',
                'Verdicts',
                'First',
                'Last',
              ].map((c) => h('th', { scope: 'col' }, c)),
            ),
          ),
          h(
            'tbody',
            {},
            ...a.peers.map((p) =>
              h(
                'tr',
                { 'data-peer': p.peer_ip, 'data-port': String(p.port) },
                h('td', {}, p.direction === 'out' ? 'sent to' : 'received from'),
                h(
                  'td',
                  {},
                  pivot({ kind: 'ip', value: p.peer_ip, at: p.first_seen }),
                  p.peer_names.length ? ` ${p.peer_names.join(', ')}` : '',
                ),
                h(
                  'td',
                  {},
                  p.peer_account
                    ? pivot({ kind: 'account', value: p.peer_account, at: p.first_seen })
                    : p.peer_scope || '—',
                  p.peer_alloc_name ? ` ${p.peer_alloc_name}` : '',
                ),
                h('td', { class: 'num' }, String(p.port)),
                h('td', {}, p.protocol),
                h('td', { class: 'num' }, fmtCount(p.flows)),
                h(
                  'td',
                  {},
                  Object.entries(p.verdicts)
                    .map(([k, v]) => `${k} ${fmtCount(v)}`)
                    .join(', '),
                ),
                h('td', {}, fmtTime(p.first_seen)),
                h('td', {}, fmtTime(p.last_seen)),
              ),
            ),
          ),
        ),
      ),
    );
  } catch (err) {
    if ((err as Error).name === 'AbortError') return;
    replace(
      root,
      head,
      status(err instanceof ApiError ? err.message : `Could not load: ${(err as Error).message}`, 'error'),
    );
  }
}

/** The activity page (opened from pivots). */
export const activityPage: Page = {
  name: 'activity',
  title: 'Activity',
  roles: ['admin', 'investigator', 'tenant'],
  nav: false,
  render,
};

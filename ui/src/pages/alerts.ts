/**
 * Alerts: the rules, the incidents they raised (acknowledge / resolve), and the webhook
 * deliveries. The navigation hides this page when the alerts API answers 404 (not deployed).
 * @module
 */
import { ApiError, type Incident, listOf } from '../api.ts';
import { h, panel, replace, status } from '../dom.ts';
import { fmtCount, fmtTime } from '../format.ts';
import { link, type Page, type PageContext } from '../router.ts';

const show = (v: unknown): string => {
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  const s = String(v);
  return /^\d{4}-\d\d-\d\dT/.test(s) ? fmtTime(s) : s;
};

/** A table of whatever objects an endpoint lists (columns: the first rows' keys, up to `max`). */
export function genericTable(
  rows: Record<string, unknown>[],
  caption: string,
  preferred: string[] = [],
  max = 10,
): HTMLElement {
  if (rows.length === 0) return h('p', { class: 'empty' }, `No ${caption.toLowerCase()}.`);
  const keys = [
    ...new Set([
      ...preferred.filter((k) => rows.some((r) => k in r)),
      ...rows.slice(0, 20).flatMap((r) => Object.keys(r)),
    ]),
  ].slice(0, max);
  return h(
    'table',
    { class: 'data' },
    h('caption', { class: 'sr-only' }, caption),
    h('thead', {}, h('tr', {}, ...keys.map((k) => h('th', { scope: 'col' }, k)))),
    h(
      'tbody',
      {},
      ...rows.map((r) =>
        h(
          'tr',
          {},
          ...keys.map((k) => {
            const v = show(r[k]);
            return h('td', { class: v.length > 32 ? 'wrap' : undefined }, v);
          }),
        ),
      ),
    ),
  );
}

function incidentsTable(ctx: PageContext, incidents: Incident[], reload: () => void): HTMLElement {
  if (incidents.length === 0) return h('p', { class: 'empty' }, 'No incidents.');
  const act = async (i: Incident, action: 'ack' | 'resolve') => {
    try {
      await ctx.session.api.request('POST', `/api/v1/alerts/incidents/${encodeURIComponent(i.id)}/${action}`);
      reload();
    } catch (err) {
      alert(`Could not ${action} incident: ${(err as Error).message}`);
    }
  };
  const focus = ctx.params.get('incident');
  return h(
    'table',
    { class: 'data', 'data-testid': 'incidents' },
    h('caption', { class: 'sr-only' }, 'Incidents'),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ...[
          'Rule',
          'Severity',
          'Tenant',
          'Account',
          'Allocation',
          'First seen',
          'Last seen',
          'Events',
          'Status',
          'Actions',
        ].map((c) => h('th', { scope: 'col' }, c)),
      ),
    ),
    h(
      'tbody',
      {},
      ...incidents.map((i) =>
        h(
          'tr',
          { id: `incident-${i.id}`, class: focus === i.id ? 'focus' : undefined },
          h('th', { scope: 'row' }, i.rule),
          h('td', {}, h('span', { class: `sev sev-${i.severity}` }, i.severity)),
          h('td', {}, i.tenant),
          h('td', {}, i.account),
          h('td', {}, h('code', {}, (i.alloc_id ?? '').slice(0, 8))),
          h('td', {}, fmtTime(i.first_seen)),
          h('td', {}, fmtTime(i.last_seen)),
          h(
            'td',
            {},
            h(
              'a',
              {
                class: 'num',
                href: link('flows', {
                  tenant: i.tenant || undefined,
                  account: i.account || undefined,
                  since: i.first_seen,
                  until: i.last_seen ? new Date(Date.parse(i.last_seen) + 1000).toISOString() : undefined,
                }),
              },
              fmtCount(i.count),
            ),
          ),
          h('td', {}, i.status),
          h(
            'td',
            {},
            i.status === 'open'
              ? h(
                  'button',
                  {
                    type: 'button',
                    onclick: () => void act(i, 'ack'),
                    'aria-label': `Acknowledge ${i.rule} incident for ${i.tenant}`,
                  },
                  'Acknowledge',
                )
              : null,
            i.status !== 'resolved'
              ? h(
                  'button',
                  {
                    type: 'button',
                    onclick: () => void act(i, 'resolve'),
                    'aria-label': `Resolve ${i.rule} incident for ${i.tenant}`,
                  },
                  'Resolve',
                )
              : null,
          ),
        ),
      ),
    ),
  );
}

async function render(ctx: PageContext): Promise<void> {
  const { root, session, signal } = ctx;
  const rules = h('div', { 'data-testid': 'rules' }, status('Loading…'));
  const incidents = h('div', {}, status('Loading…'));
  const deliveries = h('div', { 'data-testid': 'deliveries' }, status('Loading…'));
  replace(
    root,
    h('div', { class: 'page-head' }, h('h1', {}, 'Alerts')),
    h(
      'p',
      { class: 'note' },
      'Rules evaluate flow events (not bytes) over sliding windows; incidents are grouped per rule and owner; webhooks deliver them signed.',
    ),
    panel('Incidents', incidents),
    panel('Rules', rules),
    panel('Webhook deliveries', deliveries),
  );
  const load = async (box: HTMLElement, kind: 'rules' | 'incidents' | 'deliveries') => {
    try {
      const raw = await session.api.alerts(kind, kind === 'rules' ? {} : { limit: 200 }, signal);
      const rows = listOf(raw, kind) as Record<string, unknown>[];
      if (kind === 'incidents')
        replace(
          box,
          incidentsTable(ctx, rows as Incident[], () => void load(box, kind)),
        );
      else if (kind === 'rules')
        replace(
          box,
          genericTable(rows, 'Rules', [
            'id',
            'name',
            'enabled',
            'severity',
            'window',
            'threshold',
            'description',
          ]),
        );
      else
        replace(
          box,
          genericTable(rows, 'Deliveries', [
            'incident_id',
            'rule',
            'url',
            'attempt',
            'status',
            'status_code',
            'latency_ms',
            'delivered_at',
            'error',
          ]),
        );
    } catch (err) {
      if ((err as Error).name === 'AbortError') return;
      replace(
        box,
        status(
          err instanceof ApiError && err.status === 404
            ? 'Not available on this server.'
            : `Could not load ${kind}: ${(err as Error).message}`,
          'error',
        ),
      );
    }
  };
  await Promise.all([load(incidents, 'incidents'), load(rules, 'rules'), load(deliveries, 'deliveries')]);
}

/** The alerts page (hidden unless the alerts API answers). */
export const alertsPage: Page = {
  name: 'alerts',
  title: 'Alerts',
  roles: ['admin', 'investigator', 'sre'],
  visible: (s) => s.alerts,
  render,
};

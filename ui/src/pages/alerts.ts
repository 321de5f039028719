/**
 * Alerts: the rules, the incidents they raised (acknowledge / resolve), and the webhook
 * deliveries. The navigation hides this page when the alerts API answers 404 (not deployed).
 * @module
 */
import { ApiError, type Incident, type IncidentPage, listOf } from '../api.ts';
import { type PivotTarget, pivot } from '../components/pivot.ts';
import { type Child, field, h, panel, replace, status } from '../dom.ts';
import { fmtCount, fmtTime } from '../format.ts';
import { go, link, type Page, type PageContext } from '../router.ts';

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
  cell?: (key: string, row: Record<string, unknown>) => Child,
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
            return h('td', { class: v.length > 32 ? 'wrap' : undefined }, cell?.(k, r) ?? v);
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
          h(
            'th',
            { scope: 'row' },
            h('a', { href: link('alerts', { ...Object.fromEntries(ctx.params), incident: i.id }) }, i.rule),
          ),
          h('td', {}, h('span', { class: `sev sev-${i.severity}` }, i.severity)),
          h('td', {}, i.tenant ? pivot(incidentTarget(i, 'tenant')) : ''),
          h('td', {}, i.account ? pivot(incidentTarget(i, 'account')) : ''),
          h(
            'td',
            {},
            i.alloc_id ? pivot(incidentTarget(i, 'alloc'), (i.alloc_name || i.alloc_id).slice(0, 24)) : '',
          ),
          h('td', {}, fmtTime(i.first_seen)),
          h('td', {}, fmtTime(i.last_seen)),
          h(
            'td',
            {},
            // The incident's own evidence (its rule's keys over its window), not all of the account's flows.
            evidenceLink(i.evidence_url)
              ? h(
                  'a',
                  {
                    class: 'num',
                    href: evidenceLink(i.evidence_url),
                    title: 'The flows behind this incident',
                  },
                  fmtCount(i.count),
                )
              : fmtCount(i.count),
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

const pageSize = 25;

/** A rule's thresholds as a sentence: `flows ≥ 100 · distinct destinations ≥ 20 · window 5 min`. */
export function thresholdsText(t: unknown): string {
  if (!t || typeof t !== 'object') return show(t);
  const words = (k: string) =>
    k
      .replace(/([a-z])([A-Z])/g, '$1 $2')
      .replace(/[_-]/g, ' ')
      .toLowerCase();
  return Object.entries(t as Record<string, unknown>)
    .map(([k, v]) => {
      if (/seconds$/i.test(k) && typeof v === 'number') {
        return `${words(k.replace(/seconds$/i, '')) || 'window'} ${v >= 60 ? `${v / 60} min` : `${v} s`}`.trim();
      }
      if (Array.isArray(v)) return `${words(k)}: ${v.join(', ')}`;
      if (typeof v === 'number') return `${words(k)} ≥ ${fmtCount(v)}`;
      if (v && typeof v === 'object') return `${words(k)}: ${thresholdsText(v)}`;
      return `${words(k)}: ${show(v)}`;
    })
    .join(' · ');
}

function rulesTable(rows: Record<string, unknown>[]): HTMLElement {
  if (rows.length === 0) return h('p', { class: 'empty' }, 'No rules.');
  return h(
    'table',
    { class: 'data' },
    h('caption', { class: 'sr-only' }, 'Rules'),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ...['Rule', 'Kind', 'Severity', 'Enabled', 'Window', 'Fires when', 'Description'].map((c) =>
          h('th', { scope: 'col' }, c),
        ),
      ),
    ),
    h(
      'tbody',
      {},
      ...rows.map((r) => {
        const w = Number(r['window_seconds'] ?? 0);
        return h(
          'tr',
          {},
          h('th', { scope: 'row' }, show(r['id'])),
          h('td', {}, show(r['kind'])),
          h('td', {}, h('span', { class: `sev sev-${show(r['severity'])}` }, show(r['severity']))),
          h('td', {}, r['enabled'] === false ? 'no' : 'yes'),
          h('td', {}, w ? (w >= 60 ? `${w / 60} min` : `${w} s`) : ''),
          h('td', { class: 'wrap' }, thresholdsText(r['thresholds'])),
          h('td', { class: 'wrap' }, show(r['description'])),
        );
      }),
    ),
  );
}

/** The flows page link of an incident's evidence (`/api/v1/flows?…` → `#/flows?…`). */
export function evidenceLink(url: unknown): string | undefined {
  if (typeof url !== 'string' || !url.includes('?')) return undefined;
  return `#/flows?${url.slice(url.indexOf('?') + 1)}`;
}

/** The flows query of an incident's evidence, which its pivots' "Exclude it" narrows. */
function evidenceBase(url: unknown): Record<string, string[]> | undefined {
  if (typeof url !== 'string' || !url.includes('?')) return undefined;
  const out: Record<string, string[]> = {};
  for (const [k, v] of new URLSearchParams(url.slice(url.indexOf('?') + 1))) out[k] = [...(out[k] ?? []), v];
  return out;
}

/** A sample's time (ClickHouse text, UTC: `2026-01-02 03:04:05.123456789`) as RFC 3339. */
function sampleTime(v: unknown): string | undefined {
  const m = typeof v === 'string' ? /^(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d)(\.\d{1,3})?/.exec(v) : null;
  return m ? `${m[1]}T${m[2]}${m[3] ?? ''}Z` : undefined;
}

/** A pivot on one of an incident's owner fields, at the incident's first event. */
function incidentTarget(
  i: Record<string, unknown>,
  kind: 'tenant' | 'account' | 'alloc' | 'job',
): PivotTarget {
  const raw = (k: string) => String(i[k] ?? '');
  const value = raw(kind === 'alloc' ? 'alloc_id' : kind);
  return {
    kind,
    value,
    ...(kind === 'alloc' ? { label: raw('alloc_name') || value } : {}),
    at: raw('first_seen'),
    base: evidenceBase(i['evidence_url']),
  };
}

function incidentDetail(i: Record<string, unknown>): HTMLElement {
  const addrs = (i['addresses'] ?? {}) as { sources?: string[]; destinations?: string[] };
  const samples = (Array.isArray(i['samples']) ? i['samples'] : []) as Record<string, unknown>[];
  const evidence = evidenceLink(i['evidence_url']);
  const base = evidenceBase(i['evidence_url']);
  const at = String(i['first_seen'] ?? '');
  const dl = (pairs: [string, unknown][]) =>
    h(
      'dl',
      { class: 'kv' },
      ...pairs.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v instanceof Node ? v : show(v))]),
    );
  // Owners and addresses are pivot menus (filter, exclude, investigate, activity, who held).
  const owner = (kind: 'tenant' | 'account' | 'alloc' | 'job') =>
    i[kind === 'alloc' ? 'alloc_id' : kind] ? pivot(incidentTarget(i, kind)) : '—';
  const addresses = (list: string[] | undefined) =>
    list?.length
      ? h('span', {}, ...list.flatMap((ip, n) => [n ? ', ' : '', pivot({ kind: 'ip', value: ip, at, base })]))
      : '—';
  const pair = (...parts: Child[]) => h('span', {}, ...parts);
  return h(
    'div',
    { class: 'incident-detail', 'data-testid': 'incident-detail' },
    h('p', {}, h('strong', {}, show(i['rule'])), ` — ${show(i['summary'])}`),
    dl([
      ['Severity', i['severity']],
      ['Status', i['status']],
      ['Tenant / account', pair(owner('tenant'), ' / ', owner('account'))],
      ['Allocation', pair(owner('alloc'), ` (${show(i['alloc_id'])})`)],
      ['Job / node', pair(owner('job'), ` / ${show(i['node'])}`)],
      ['First / last seen', `${show(i['first_seen'])} → ${show(i['last_seen'])} UTC`],
      [
        'Events / detections / peak',
        `${fmtCount(show(i['count']))} / ${show(i['detections'])} / ${show(i['peak'])}`,
      ],
      ['Targets', addresses(addrs.destinations)],
      ['Sources', addresses(addrs.sources)],
      ['Ports', (Array.isArray(i['ports']) ? (i['ports'] as number[]) : []).join(', ') || '—'],
    ]),
    evidence
      ? h('p', {}, h('a', { href: evidence, class: 'button' }, 'Evidence: the flows behind this incident'))
      : null,
    h('h3', {}, `Sample flows (${samples.length})`),
    samples.length
      ? genericTable(
          samples,
          'Sample flows',
          [
            'time',
            'source',
            'source_ip',
            'destination',
            'destination_ip',
            'port',
            'destination_port',
            'verdict',
          ],
          10,
          (k, r) =>
            /^(source|destination)(_ip)?$/.test(k) && typeof r[k] === 'string' && r[k]
              ? pivot({ kind: 'ip', value: r[k] as string, at: sampleTime(r['time']) ?? at, base })
              : undefined,
        )
      : null,
  );
}

async function render(ctx: PageContext): Promise<void> {
  const { root, session, signal, params } = ctx;
  const rules = h('div', { 'data-testid': 'rules' }, status('Loading…'));
  const incidents = h('div', {}, status('Loading…'));
  const deliveries = h('div', { 'data-testid': 'deliveries' }, status('Loading…'));
  const detail = h('div', {});
  const page = Math.max(1, Number(params.get('page') ?? 1) || 1);
  const group = params.get('group') ?? '';
  const nav = (changes: Record<string, string | undefined>) => {
    const next = new URLSearchParams(params);
    for (const [k, v] of Object.entries(changes)) {
      if (v) next.set(k, v);
      else next.delete(k);
    }
    go(link('alerts', next));
  };
  const statusSel = h(
    'select',
    { name: 'status' },
    ...['', 'open', 'acknowledged', 'resolved'].map((v) =>
      h('option', { value: v, selected: (params.get('status') ?? '') === v }, v || 'any'),
    ),
  );
  const ruleIn = h('input', {
    type: 'text',
    name: 'rule',
    value: params.get('rule') ?? '',
    placeholder: 'any',
  });
  const tenantIn = h('input', {
    type: 'text',
    name: 'tenant',
    value: params.get('tenant') ?? '',
    placeholder: 'any',
  });
  const groupSel = h(
    'select',
    { name: 'group' },
    ...[
      ['', 'None'],
      ['rule', 'Rule'],
      ['tenant', 'Tenant'],
      ['account', 'Account'],
    ].map(([v, t]) => h('option', { value: v, selected: group === v }, t)),
  );
  const filterForm = h(
    'form',
    { class: 'dash-vars', 'aria-label': 'Filter incidents' },
    field('Status', statusSel),
    field('Rule', ruleIn),
    field('Tenant', tenantIn),
    field('Group by', groupSel),
    h('button', { type: 'submit' }, 'Filter'),
  );
  filterForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    nav({
      status: statusSel.value,
      rule: ruleIn.value.trim(),
      tenant: tenantIn.value.trim(),
      group: groupSel.value,
      page: undefined,
    });
  });
  replace(
    root,
    h('div', { class: 'page-head' }, h('h1', {}, 'Alerts')),
    h(
      'p',
      { class: 'note' },
      'Rules evaluate flow events (not bytes) over sliding windows; incidents are grouped per rule and owner; webhooks deliver them signed.',
    ),
    detail,
    panel('Incidents', filterForm, incidents),
    panel('Rules', rules),
    panel('Webhook deliveries', deliveries),
  );
  const focus = params.get('incident');
  if (focus) {
    replace(detail, panel('Incident', status('Loading…')));
    session.api
      .request<Record<string, unknown>>(
        'GET',
        `/api/v1/alerts/incidents/${encodeURIComponent(focus)}`,
        {},
        undefined,
        signal,
      )
      .then((i) => replace(detail, panel('Incident', incidentDetail(i))))
      .catch((err: Error) => {
        if (err.name !== 'AbortError')
          replace(detail, panel('Incident', status(`Could not load the incident: ${err.message}`, 'error')));
      });
  }
  /** The incident filters of the page (status, rule, tenant), as the API takes them. */
  const filters: Record<string, string> = {};
  for (const k of ['status', 'rule', 'tenant']) {
    const v = params.get(k);
    if (v) filters[k] = v;
  }
  /**
   * One page of incidents from the API (offset paging: the API counts the matches, so paging
   * reaches every incident however many there are); grouped, the API counts every group and a
   * group's incidents load when it is opened.
   */
  const drawIncidents = (answer: IncidentPage, reload: () => void) => {
    const total = answer.total ?? answer.incidents.length;
    const pages = Math.max(1, Math.ceil(total / pageSize));
    const p = Math.min(page, pages);
    const pager = h(
      'nav',
      { class: 'pager', 'aria-label': 'Incident pages' },
      h('span', { 'data-testid': 'incident-total' }, `${fmtCount(total)} incidents · page ${p} of ${pages} `),
      h(
        'button',
        { type: 'button', disabled: p <= 1, onclick: () => nav({ page: String(p - 1) }) },
        'Previous',
      ),
      ' ',
      h(
        'button',
        { type: 'button', disabled: p >= pages, onclick: () => nav({ page: String(p + 1) }) },
        'Next',
      ),
    );
    if (!group || !answer.groups) {
      replace(incidents, pager, incidentsTable(ctx, answer.incidents, reload));
      return;
    }
    replace(
      incidents,
      h(
        'p',
        { 'data-testid': 'incident-total' },
        `${fmtCount(total)} incidents in ${fmtCount(answer.groups.length)} groups`,
      ),
      ...answer.groups.map((g) => {
        const body = h('div', {}, status('Loading…'));
        const box = h(
          'details',
          { class: 'incident-group', 'data-group': g.key || '(none)' },
          h(
            'summary',
            {},
            h('strong', {}, g.key || '(none)'),
            ` — ${fmtCount(g.count)} incidents, ${fmtCount(g.open)} open, ${fmtCount(g.events)} events`,
          ),
          body,
        );
        let loaded = false;
        box.addEventListener('toggle', () => {
          if (!box.open || loaded) return;
          loaded = true;
          session.api
            .alerts('incidents', { ...filters, [group]: [g.key], limit: 100 }, signal)
            .then((raw) => {
              const list = listOf(raw, 'incidents') as Incident[];
              replace(
                body,
                incidentsTable(ctx, list, reload),
                g.count > list.length
                  ? h(
                      'p',
                      { class: 'hint' },
                      `The newest ${list.length} of ${fmtCount(g.count)}; filter to see more.`,
                    )
                  : null,
              );
            })
            .catch((err: Error) => {
              if (err.name !== 'AbortError') replace(body, status(`Could not load: ${err.message}`, 'error'));
            });
        });
        return box;
      }),
    );
  };
  const load = async (box: HTMLElement, kind: 'rules' | 'incidents' | 'deliveries') => {
    try {
      if (kind === 'incidents') {
        const raw = await session.api.alerts(
          kind,
          { ...filters, limit: pageSize, offset: (page - 1) * pageSize, ...(group ? { group } : {}) },
          signal,
        );
        drawIncidents(raw as IncidentPage, () => void load(box, kind));
        return;
      }
      const raw = await session.api.alerts(kind, kind === 'rules' ? {} : { limit: 2000 }, signal);
      const rows = listOf(raw, kind) as Record<string, unknown>[];
      if (kind === 'rules') replace(box, rulesTable(rows));
      else
        replace(
          box,
          genericTable(rows.slice(0, 50), 'Deliveries', [
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

/**
 * Investigate: an abuse report (address or CIDR, port, protocol, window, direction) becomes a
 * saved case: the accounts behind the matching flows, ranked, with their evidence; a timeline of
 * who held the address across the window with every flow as a mark; the flows themselves; and
 * exports of the case and of the flows. The case id is kept in the link, so it can be shared.
 * @module
 */
import {
  ApiError,
  type FlowLine,
  type Investigation,
  type InvestigationRequest,
  type Params,
} from '../api.ts';
import { type Band, type Mark, timeline } from '../charts/timeline.ts';
import { createDrawer } from '../components/drawer.ts';
import { flowTable } from '../components/flow-table.ts';
import { field, h, panel, replace, status } from '../dom.ts';
import { summary } from '../flow-view.ts';
import { fmtCount, fmtTime, fromLocalInput, timeMs, toLocalInput } from '../format.ts';
import { inCidr, isSingleAddress } from '../ip.ts';
import { ownerBands } from '../owner-history.ts';
import { link, type Page, type PageContext, replaceHash } from '../router.ts';
import { exportLink } from './flows.ts';

/** The /flows parameters selecting a case's matching flows. */
export function caseFlowParams(req: InvestigationRequest): Params {
  const ipParam = req.direction === 'source' ? 'from-ip' : req.direction === 'destination' ? 'to-ip' : 'ip';
  return {
    [ipParam]: req.indicator,
    port: req.port === undefined ? undefined : String(req.port),
    protocol: req.protocol,
    since: req.since,
    until: req.until,
  };
}

/** The timeline lanes: the address itself, or the addresses of the range seen in the flows (at most 8). */
export function lanesOf(indicator: string, flows: FlowLine[]): string[] {
  if (isSingleAddress(indicator)) return [indicator.replace(/\/(32|128)$/, '')];
  const seen = new Set<string>();
  for (const l of flows) {
    for (const ip of [l.flow.IP?.source, l.flow.IP?.source_xlated, l.flow.IP?.destination]) {
      if (ip && inCidr(ip, indicator)) seen.add(ip);
    }
    if (seen.size >= 8) break;
  }
  return [...seen];
}

/** Places each flow on the lane of the address it involves (first match: source, SNAT source, destination). */
export function marksOf(lanes: string[], flows: FlowLine[]): Mark[] {
  const set = new Set(lanes);
  const out: Mark[] = [];
  for (const line of flows) {
    const ip = [line.flow.IP?.source, line.flow.IP?.source_xlated, line.flow.IP?.destination].find(
      (a) => a && set.has(a),
    );
    if (ip) out.push({ address: ip, line });
  }
  return out;
}

function requestFromParams(p: URLSearchParams): InvestigationRequest | undefined {
  const indicator = p.get('indicator');
  const since = p.get('since');
  const until = p.get('until');
  if (!indicator || !since || !until) return undefined;
  const port = p.get('port');
  return {
    indicator,
    since,
    until,
    ...(port ? { port: Number(port) } : {}),
    ...(p.get('protocol') ? { protocol: p.get('protocol') ?? '' } : {}),
    ...(p.get('direction') ? { direction: p.get('direction') ?? 'any' } : {}),
  };
}

function form(
  p: URLSearchParams,
  onSubmit: (req: InvestigationRequest) => void,
): { el: HTMLElement; error: (param: string | undefined, msg: string | null) => void } {
  const now = Date.now();
  const indicator = h('input', {
    type: 'text',
    name: 'indicator',
    required: true,
    value: p.get('indicator') ?? '',
    placeholder: '198.51.100.7 or 10.0.0.0/24',
    spellcheck: 'false',
  });
  const port = h('input', { type: 'number', name: 'port', min: 0, max: 65535, value: p.get('port') ?? '' });
  const protocol = h(
    'select',
    { name: 'protocol' },
    ...['', 'tcp', 'udp', 'icmp', 'sctp'].map((v) =>
      h('option', { value: v, selected: (p.get('protocol') ?? '') === v }, v || 'any'),
    ),
  );
  const since = h('input', {
    type: 'datetime-local',
    step: 1,
    name: 'since',
    required: true,
    value: toLocalInput(p.get('since') ?? new Date(now - 86_400_000).toISOString()),
  });
  const until = h('input', {
    type: 'datetime-local',
    step: 1,
    name: 'until',
    required: true,
    value: toLocalInput(p.get('until') ?? new Date(now).toISOString()),
  });
  const direction = h(
    'select',
    { name: 'direction' },
    ...[
      ['any', 'either end'],
      ['source', 'it sent (source)'],
      ['destination', 'it received (destination)'],
    ].map(([v, t]) => h('option', { value: v, selected: (p.get('direction') ?? 'any') === v }, t)),
  );
  const err = h('p', { class: 'field-error', role: 'alert', hidden: true });
  const controls: Record<string, HTMLElement> = { indicator, port, protocol, since, until, direction };
  const el = h(
    'form',
    { class: 'investigate-form panel', 'aria-label': 'Abuse report' },
    field('Address or CIDR', indicator, 'As the report names it (the post-SNAT source counts too)'),
    field('Port', port),
    field('Protocol', protocol),
    field('From (UTC)', since),
    field('To (UTC)', until),
    field('Indicator was', direction),
    h('button', { type: 'submit' }, 'Investigate'),
    err,
  );
  el.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const s = fromLocalInput(since.value);
    const u = fromLocalInput(until.value);
    onSubmit({
      indicator: indicator.value.trim(),
      since: s ?? since.value,
      until: u ?? until.value,
      ...(port.value ? { port: Number(port.value) } : {}),
      ...(protocol.value ? { protocol: protocol.value } : {}),
      direction: direction.value,
    });
  });
  const error = (param: string | undefined, msg: string | null) => {
    for (const c of Object.values(controls)) c.removeAttribute('aria-invalid');
    err.hidden = msg === null;
    err.textContent = msg ?? '';
    const c = param ? controls[param] : undefined;
    if (c && msg) {
      c.setAttribute('aria-invalid', 'true');
      c.focus();
    }
  };
  return { el, error };
}

function accountsTable(inv: Investigation, req: InvestigationRequest): HTMLElement {
  if (inv.accounts.length === 0) {
    return h(
      'p',
      { class: 'empty', 'data-testid': 'no-accounts' },
      'No flows matched: nobody to name in this window.',
    );
  }
  const flowParams = caseFlowParams(req);
  return h(
    'table',
    { class: 'data accounts', 'data-testid': 'accounts' },
    h('caption', { class: 'sr-only' }, 'Accounts behind the matching flows, most flows first'),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ...[
          '#',
          'Tenant',
          'Account',
          'Job',
          'Allocation',
          'Node',
          'First seen',
          'Last seen',
          'Flow events',
          'Verdicts',
          'Attributed by',
          'Evidence',
        ].map((c) => h('th', { scope: 'col' }, c)),
      ),
    ),
    h(
      'tbody',
      {},
      ...inv.accounts.map((a, i) => {
        const filters: Record<string, string | undefined> = {};
        for (const [k, v] of Object.entries(flowParams)) if (typeof v === 'string') filters[k] = v;
        const href = link('flows', {
          ...filters,
          ...(a.tenant ? { tenant: a.tenant } : {}),
          ...(a.account ? { account: a.account } : {}),
        });
        return h(
          'tr',
          { 'data-account': a.account, 'data-tenant': a.tenant },
          h('td', {}, String(i + 1)),
          h('td', {}, a.tenant || '—'),
          h('th', { scope: 'row' }, a.account || '(unattributed)'),
          h('td', {}, a.job || '—'),
          h('td', {}, h('code', {}, a.alloc_id ? a.alloc_id.slice(0, 8) : '—')),
          h('td', {}, a.node || '—'),
          h('td', {}, fmtTime(a.first_seen)),
          h('td', {}, fmtTime(a.last_seen)),
          h('td', {}, h('a', { class: 'num', href }, fmtCount(a.flows))),
          h(
            'td',
            {},
            Object.entries(a.verdicts ?? {})
              .map(([k, v]) => `${k} ${fmtCount(v)}`)
              .join(', '),
          ),
          h('td', {}, a.source),
          h(
            'td',
            {},
            h(
              'details',
              {},
              h('summary', {}, `${a.samples?.length ?? 0} sample flows`),
              h(
                'ul',
                {},
                ...(a.samples ?? []).map((s) => {
                  const f = (s as FlowLine).flow ?? {};
                  return h(
                    'li',
                    {},
                    h('code', {}, fmtTime(f.time)),
                    ` ${f.verdict ?? ''} ${f.IP?.source ?? ''} → ${f.IP?.destination ?? ''} ${summary(f)}`,
                  );
                }),
              ),
            ),
          ),
        );
      }),
    ),
  );
}

async function showCase(
  ctx: PageContext,
  out: HTMLElement,
  inv: Investigation,
  req: InvestigationRequest,
): Promise<void> {
  const { session, signal } = ctx;
  const drawer = createDrawer();
  const tl = h('div', { class: 'panel-body' }, status('Loading the owners of the address…'));
  const flowsBox = h('div', { class: 'panel-body' }, status('Loading flows…'));
  const flowParams = caseFlowParams(req);
  replace(
    out,
    h(
      'div',
      { class: 'toolbar' },
      h(
        'p',
        { class: 'result-info' },
        `Case `,
        h('code', { 'data-testid': 'case-id' }, inv.id),
        ` · ${req.indicator} · ${fmtTime(req.since)} → ${fmtTime(req.until)} UTC`,
      ),
      h(
        'div',
        { class: 'exports', role: 'group', 'aria-label': 'Export the case' },
        exportLink(
          session,
          'Case JSON',
          `/api/v1/investigations/${inv.id}/export`,
          { format: 'json' },
          `investigation-${inv.id}.json`,
        ),
        exportLink(
          session,
          'Case CSV',
          `/api/v1/investigations/${inv.id}/export`,
          { format: 'csv' },
          `investigation-${inv.id}.csv`,
        ),
        exportLink(
          session,
          'Flows NDJSON',
          '/api/v1/flows',
          { ...flowParams, format: 'ndjson', limit: '100000' },
          `investigation-${inv.id}-flows.ndjson`,
        ),
      ),
    ),
    panel('Accounts behind the flows', accountsTable(inv, req)),
    panel('Who held the address', tl),
    panel('Matching flows', flowsBox),
    drawer.el,
  );
  let flows: FlowLine[] = [];
  try {
    const page = await session.api.flows({ ...flowParams, limit: '2000', order: 'oldest' }, signal);
    flows = page.flows;
    const table = flowTable(drawer, 'Matching flows', 420);
    table.setRows(flows);
    const filters: Record<string, string> = {};
    for (const [k, v] of Object.entries(flowParams)) if (typeof v === 'string') filters[k] = v;
    replace(
      flowsBox,
      h(
        'p',
        {},
        `${fmtCount(flows.length)} flow events${page.next_cursor ? ' (first 2,000; open in the explorer for all)' : ''}. `,
        h('a', { href: link('flows', filters) }, 'Open in the flows explorer'),
      ),
      table.el,
    );
  } catch (err) {
    replace(flowsBox, status(`Could not load flows: ${(err as Error).message}`, 'error'));
  }
  const lanes = lanesOf(req.indicator, flows);
  const bands: Band[] = [];
  let note = '';
  try {
    for (const ip of lanes) bands.push(...(await ownerBands(session.api, ip, req.since, req.until, signal)));
  } catch (err) {
    if (err instanceof ApiError && err.status === 403)
      note = 'Your role cannot read ownership history; bands are omitted.';
    else if ((err as Error).name !== 'AbortError')
      note = `Ownership history unavailable: ${(err as Error).message}`;
  }
  if (lanes.length === 0) {
    replace(tl, h('p', { class: 'empty' }, 'No address of the range appears in the flows.'));
    return;
  }
  const marks = marksOf(lanes, flows);
  replace(
    tl,
    h(
      'p',
      { class: 'hint' },
      'One band per owner interval (Nomad allocation holding the address); each dot is one flow event, coloured by verdict. Click a dot for the flow.',
    ),
    note ? status(note, 'error') : null,
    timeline({
      width: Math.max(800, tl.clientWidth),
      sinceMs: timeMs(req.since),
      untilMs: timeMs(req.until),
      addresses: lanes,
      bands,
      marks,
      onMark: (line) =>
        drawer.open(
          `Flow at ${fmtTime(line.flow.time)}`,
          h('pre', { class: 'json' }, JSON.stringify(line, null, 2)),
        ),
    }),
    h(
      'ul',
      { class: 'sr-only' },
      ...bands.map((b) =>
        h(
          'li',
          {},
          `${b.address}: ${b.owner.tenant}/${b.owner.account} job ${b.owner.job} from ${b.owner.start} to ${b.owner.end ?? 'still held'}`,
        ),
      ),
    ),
  );
}

async function render(ctx: PageContext): Promise<void> {
  const { root, params, session, signal } = ctx;
  const out = h('div', { class: 'case', 'aria-live': 'polite' });
  const run = async (req: InvestigationRequest) => {
    f.error(undefined, null);
    replace(out, status('Investigating…'));
    try {
      const inv = await session.api.investigate(req, signal);
      const p = new URLSearchParams();
      for (const [k, v] of Object.entries(req)) if (v !== undefined && v !== '') p.set(k, String(v));
      p.set('id', inv.id);
      replaceHash(link('investigate', p));
      await showCase(ctx, out, inv, req);
    } catch (err) {
      if (err instanceof ApiError && err.status === 400) {
        f.error(err.param, err.message);
        replace(out);
      } else replace(out, status(`Investigation failed: ${(err as Error).message}`, 'error'));
    }
  };
  const f = form(params, (req) => void run(req));
  replace(
    root,
    h('div', { class: 'page-head' }, h('h1', {}, 'Investigate')),
    h(
      'p',
      { class: 'note' },
      'From an abuse report to the accounts behind it. Addresses are reused, so the answer is who held the address when each flow happened. Counts are flow events, not bytes.',
    ),
    f.el,
    out,
  );
  const id = params.get('id');
  if (id) {
    replace(out, status('Loading the case…'));
    try {
      const inv = await session.api.investigation(id, signal);
      const req = (inv['request'] as InvestigationRequest | undefined) ?? requestFromParams(params);
      if (!req) throw new Error('the case has no request');
      await showCase(ctx, out, inv, req);
    } catch (err) {
      if ((err as Error).name !== 'AbortError')
        replace(out, status(`Could not open case ${id}: ${(err as Error).message}`, 'error'));
    }
  }
}

/** The investigation page. */
export const investigatePage: Page = {
  name: 'investigate',
  title: 'Investigate',
  roles: ['admin', 'investigator', 'tenant'],
  render,
};

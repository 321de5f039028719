/**
 * Investigate: an abuse report (our address — pod, node or post-SNAT —, their address, port,
 * protocol, a time ± tolerance or a window) becomes a saved case: the accounts behind our end of
 * the matching flows, ranked by match to the report, with their allocations and evidence; a timeline of
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
import { casePanel } from '../components/case-panel.ts';
import { createDrawer } from '../components/drawer.ts';
import { flowDetail, flowTable } from '../components/flow-table.ts';
import { pivot } from '../components/pivot.ts';
import { type FieldError, field, fieldError, h, panel, replace, status } from '../dom.ts';
import { summary } from '../flow-view.ts';
import { fmtCount, fmtTime, fromLocalInput, timeMs, toLocalInput } from '../format.ts';
import { inCidr, isSingleAddress } from '../ip.ts';
import { ownerBands } from '../owner-history.ts';
import { link, type Page, type PageContext, replaceHash } from '../router.ts';
import { exportLink } from './flows.ts';

/** The window a case searched: the saved one, else the request's since/until. */
export function caseWindow(
  inv: Investigation | undefined,
  req: InvestigationRequest,
): { since: string; until: string } {
  if (inv?.window) return { since: inv.window.since, until: inv.window.until };
  if (req.at !== undefined) {
    const at = timeMs(req.at);
    const tol = (req.tolerance ?? 120) * 1000;
    return { since: new Date(at - tol).toISOString(), until: new Date(at + tol + 1).toISOString() };
  }
  return { since: req.since ?? '', until: req.until ?? '' };
}

/**
 * The /flows parameters selecting a case's matching flows. `ip` matches the post-SNAT source
 * too, so an egress address finds the flows the outside world saw; the remote party is the
 * other end (the destination when our side sent, the source when it received).
 */
export function caseFlowParams(req: InvestigationRequest, inv?: Investigation): Params {
  const w = caseWindow(inv, req);
  const ipParam = req.direction === 'source' ? 'from-ip' : req.direction === 'destination' ? 'to-ip' : 'ip';
  const remoteParam = req.indicator ? (req.direction === 'destination' ? 'from-ip' : 'to-ip') : 'ip';
  return {
    ...(req.indicator ? { [ipParam]: req.indicator } : {}),
    ...(req.remote ? { [remoteParam]: req.remote } : {}),
    port: req.port === undefined ? undefined : String(req.port),
    protocol: req.protocol,
    since: w.since,
    until: w.until,
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
  const indicator = p.get('indicator') || undefined;
  const remote = p.get('remote') || undefined;
  const since = p.get('since') || undefined;
  const until = p.get('until') || undefined;
  const at = p.get('at') || undefined;
  if ((!indicator && !remote) || (!at && (!since || !until))) return undefined;
  const port = p.get('port');
  const tolerance = p.get('tolerance');
  return {
    ...(indicator ? { indicator } : {}),
    ...(remote ? { remote } : {}),
    ...(at ? { at, ...(tolerance ? { tolerance: Number(tolerance) } : {}) } : { since, until }),
    ...(port ? { port: Number(port) } : {}),
    ...(p.get('protocol') ? { protocol: p.get('protocol') ?? '' } : {}),
    ...(p.get('direction') ? { direction: p.get('direction') ?? 'any' } : {}),
  };
}

function form(
  p: URLSearchParams,
  onSubmit: (req: InvestigationRequest) => void,
): { el: HTMLElement; error: FieldError['show'] } {
  const now = Date.now();
  const text = (name: string, placeholder: string) =>
    h('input', { type: 'text', name, value: p.get(name) ?? '', placeholder, spellcheck: 'false' });
  const indicator = text('indicator', '192.0.2.125, 10.42.1.0/24');
  const remote = text('remote', '203.0.113.200');
  const port = h('input', { type: 'number', name: 'port', min: 0, max: 65535, value: p.get('port') ?? '' });
  const protocol = h(
    'select',
    { name: 'protocol' },
    ...['', 'tcp', 'udp', 'icmp', 'sctp'].map((v) =>
      h('option', { value: v, selected: (p.get('protocol') ?? '') === v }, v || 'any'),
    ),
  );
  const mode = h(
    'select',
    { name: 'mode' },
    h('option', { value: 'at', selected: !p.get('since') }, 'at a time ± tolerance'),
    h('option', { value: 'window', selected: !!p.get('since') }, 'in a window'),
  );
  const at = h('input', {
    type: 'datetime-local',
    step: 1,
    name: 'at',
    value: p.get('at') ? toLocalInput(p.get('at') ?? '') : '',
  });
  const tolerance = h('input', {
    type: 'number',
    name: 'tolerance',
    min: 0,
    max: 86400,
    value: p.get('tolerance') ?? '120',
  });
  const since = h('input', {
    type: 'datetime-local',
    step: 1,
    name: 'since',
    value: toLocalInput(p.get('since') ?? new Date(now - 86_400_000).toISOString()),
  });
  const until = h('input', {
    type: 'datetime-local',
    step: 1,
    name: 'until',
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
  const err = fieldError({ indicator, remote, port, protocol, at, tolerance, since, until, direction });
  const atFields = [field('Reported at (UTC)', at), field('± seconds', tolerance)];
  const windowFields = [field('From (UTC)', since), field('To (UTC)', until)];
  const showMode = () => {
    // Inline display, not `hidden`: the form's grid layout would override the attribute.
    for (const f of atFields) f.style.display = mode.value === 'at' ? '' : 'none';
    for (const f of windowFields) f.style.display = mode.value === 'at' ? 'none' : '';
  };
  mode.addEventListener('change', showMode);
  showMode();
  const el = h(
    'form',
    { class: 'investigate-form panel', 'aria-label': 'Abuse report' },
    field('Our address', indicator, 'Pod, node or post-SNAT (egress) address, or a CIDR'),
    field('Their address', remote, 'The victim or remote host the report names'),
    field('Port', port),
    field('Protocol', protocol),
    field('When', mode),
    ...atFields,
    ...windowFields,
    field('Our address was', direction),
    h('button', { type: 'submit' }, 'Investigate'),
    err.el,
  );
  el.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const when: InvestigationRequest =
      mode.value === 'at'
        ? {
            at: fromLocalInput(at.value) ?? at.value,
            ...(tolerance.value ? { tolerance: Number(tolerance.value) } : {}),
          }
        : {
            since: fromLocalInput(since.value) ?? since.value,
            until: fromLocalInput(until.value) ?? until.value,
          };
    onSubmit({
      ...(indicator.value.trim() ? { indicator: indicator.value.trim() } : {}),
      ...(remote.value.trim() ? { remote: remote.value.trim() } : {}),
      ...when,
      ...(port.value ? { port: Number(port.value) } : {}),
      ...(protocol.value ? { protocol: protocol.value } : {}),
      direction: direction.value,
    });
  });
  return { el, error: err.show };
}

const endText = { source: 'source (it sent)', destination: 'destination (it received)', both: 'both ends' };

function accountsTable(inv: Investigation, req: InvestigationRequest): HTMLElement {
  if (inv.accounts.length === 0) {
    return h(
      'p',
      { class: 'empty', 'data-testid': 'no-accounts' },
      'No flows matched: nobody to name in this window.',
    );
  }
  const flowParams = caseFlowParams(req, inv);
  const filters: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(flowParams)) if (typeof v === 'string') filters[k] = v;
  const cols = [
    '#',
    'Tenant',
    'Account',
    'Full matches',
    'Flow events',
    'Closest (s)',
    'First seen',
    'Last seen',
    'Verdicts',
    'Attributed',
    'Evidence',
  ];
  const rows = inv.accounts.flatMap((a, i) => {
    const href = link('flows', {
      ...filters,
      ...(a.tenant ? { tenant: a.tenant } : {}),
      ...(a.account ? { account: a.account } : {}),
    });
    const conflict = (a.conflicts ?? []).length
      ? h('span', { class: 'conflict', title: a.conflicts.join('\n') }, ' ⚠ labels disagree')
      : null;
    const head = h(
      'tr',
      {
        class: 'account-row',
        'data-account': a.account,
        'data-tenant': a.tenant,
        'data-rank': String(a.rank ?? i + 1),
      },
      h('td', {}, String(a.rank ?? i + 1)),
      h(
        'td',
        {},
        a.tenant ? pivot({ kind: 'tenant', value: a.tenant, at: a.first_seen, base: filters }) : '—',
      ),
      h(
        'th',
        { scope: 'row' },
        a.account
          ? pivot({ kind: 'account', value: a.account, at: a.first_seen, base: filters })
          : '(unattributed)',
        conflict,
      ),
      h('td', { class: 'num', 'data-testid': 'full-matches' }, fmtCount(a.full_match_flows ?? 0)),
      h('td', {}, h('a', { class: 'num', href }, fmtCount(a.flows))),
      h('td', { class: 'num' }, inv.window?.reference ? String(a.closest_s ?? '') : '—'),
      h('td', {}, fmtTime(a.first_seen)),
      h('td', {}, fmtTime(a.last_seen)),
      h(
        'td',
        {},
        Object.entries(a.verdicts ?? {})
          .map(([k, v]) => `${k} ${fmtCount(v)}`)
          .join(', '),
      ),
      h('td', {}, `${a.source} · ${endText[a.attributed_end] ?? a.attributed_end ?? ''}`),
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
              const ip = (v: string | undefined) =>
                v ? pivot({ kind: 'ip', value: v, at: f.time, base: filters }) : '';
              return h(
                'li',
                {},
                h('code', {}, fmtTime(f.time)),
                ` ${f.verdict ?? ''} `,
                ip(f.IP?.source),
                f.IP?.source_xlated ? ' (as ' : '',
                ip(f.IP?.source_xlated),
                f.IP?.source_xlated ? ')' : '',
                ' → ',
                ip(f.IP?.destination),
                ` ${summary(f)}`,
              );
            }),
          ),
        ),
      ),
    );
    const allocs = (a.allocations ?? []).map((x) =>
      h(
        'tr',
        { class: 'alloc-row', 'data-alloc': x.alloc_id },
        h('td', {}),
        h(
          'td',
          { colspan: 2 },
          '↳ ',
          x.alloc_id
            ? pivot({
                kind: 'alloc',
                value: x.alloc_id,
                label: x.alloc_name || x.alloc_id,
                at: x.first_seen,
                base: filters,
              })
            : '(no allocation)',
          ' ',
          x.job ? pivot({ kind: 'job', value: x.job, at: x.first_seen, base: filters }) : '',
          ` on ${x.node || '?'}`,
        ),
        h('td', { class: 'num' }, fmtCount(x.full_match_flows)),
        h('td', { class: 'num' }, fmtCount(x.flows)),
        h('td', {}),
        h('td', {}, fmtTime(x.first_seen)),
        h('td', {}, fmtTime(x.last_seen)),
        h('td', { colspan: 3 }),
      ),
    );
    return [head, ...allocs];
  });
  return h(
    'table',
    { class: 'data accounts', 'data-testid': 'accounts' },
    h(
      'caption',
      { class: 'sr-only' },
      'Accounts behind our end of the matching flows, best match to the report first, each with its allocations',
    ),
    h('thead', {}, h('tr', {}, ...cols.map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, ...rows),
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
  const flowParams = caseFlowParams(req, inv);
  const filters: Record<string, string> = {};
  for (const [k, v] of Object.entries(flowParams)) if (typeof v === 'string') filters[k] = v;
  const w = caseWindow(inv, req);
  const side =
    inv.indicator_side === 'outside'
      ? ' · the indicator is outside our address space: the other end of each flow is attributed'
      : '';
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
        ` · ${[req.indicator, req.remote].filter(Boolean).join(' ↔ ')}${req.port !== undefined ? `:${req.port}` : ''} · ${fmtTime(w.since)} → ${fmtTime(w.until)} UTC${side}`,
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
          'Evidence bundle',
          `/api/v1/investigations/${inv.id}/evidence`,
          {},
          `evidence-${inv.id}.tar`,
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
    panel('Case', casePanel(session, inv, signal)),
    panel('Accounts behind the flows', accountsTable(inv, req)),
    panel('Who held the address', tl),
    panel('Matching flows', flowsBox),
    drawer.el,
  );
  let flows: FlowLine[] = [];
  let sampled = false;
  try {
    const page = await session.api.flows({ ...flowParams, limit: '2000', order: 'oldest' }, signal);
    flows = page.flows;
    sampled = !!page.next_cursor;
    const table = flowTable(drawer, 'Matching flows', 420, undefined, filters);
    table.setRows(flows);
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
  const lanes = lanesOf(req.indicator ?? req.remote ?? '', flows);
  const bands: Band[] = [];
  let note = '';
  try {
    for (const ip of lanes) bands.push(...(await ownerBands(session.api, ip, w.since, w.until, signal)));
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
    sampled
      ? h(
          'p',
          { class: 'note', 'data-testid': 'timeline-sampled' },
          `Sampled: the dots are the first ${fmtCount(flows.length)} matching flow events only; open the flows explorer for all of them.`,
        )
      : null,
    note ? status(note, 'error') : null,
    timeline({
      width: Math.max(800, tl.clientWidth),
      sinceMs: timeMs(w.since),
      untilMs: timeMs(w.until),
      addresses: lanes,
      bands,
      marks,
      onMark: (line) => drawer.open(`Flow at ${fmtTime(line.flow.time)}`, flowDetail(line, filters)),
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
    f.error(null);
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
        f.error(err.message, err.param);
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
      'From an abuse report to the accounts behind it. Addresses are reused, so the answer is who held the address when each flow happened. Counts are flow events, not bytes. ',
      h('a', { href: link('who') }, 'Who held an address at an instant?'),
      ' · ',
      h('a', { href: link('cases') }, 'Saved cases'),
      ' · ',
      h('a', { href: link('report') }, 'Import an abuse report (X-ARF, ARF)'),
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

/**
 * The time range picker (the presets, custom) with auto-refresh, shared by every page with a
 * time range (overview, Visualize, Flows, tenant, service map). The choice lives in the page's
 * hash parameters (`range`, `since`, `until`, `refresh`) so a refreshed or shared link shows the
 * same window, and the navigation carries `range`/`since`/`until` from page to page
 * (rangeParams), so switching pages keeps the range.
 * @module
 */
import { field, h } from '../dom.ts';
import { fromLocalInput, toLocalInput } from '../format.ts';

/** Preset ranges and their length in milliseconds. */
export const presets = {
  '5m': 5 * 60_000,
  '15m': 15 * 60_000,
  '1h': 3_600_000,
  '6h': 6 * 3_600_000,
  '24h': 86_400_000,
  '7d': 7 * 86_400_000,
} as const;
/** A preset's name. */
export type Preset = keyof typeof presets;

/** The presets' labels, in menu order (every page offers the same ones). */
export const presetLabels: [Preset, string][] = [
  ['5m', 'Last 5 minutes'],
  ['15m', 'Last 15 minutes'],
  ['1h', 'Last hour'],
  ['6h', 'Last 6 hours'],
  ['24h', 'Last 24 hours'],
  ['7d', 'Last 7 days'],
];

/** The hash parameters that hold the chosen range. */
const rangeKeys = ['range', 'since', 'until'] as const;

/**
 * Only the range parameters of `params`: what the navigation carries to the next page, so the
 * range chosen on one page is the range of the next.
 */
export function rangeParams(params: URLSearchParams): URLSearchParams {
  const out = new URLSearchParams();
  for (const k of rangeKeys) {
    const v = params.get(k);
    if (v) out.set(k, v);
  }
  return out;
}

/**
 * The API's since/until for the parameters: a preset becomes the absolute window ending now; a
 * custom since/until passes as given (the API also reads relative times); nothing chosen leaves
 * the API's own default window.
 */
export function apiRange(params: URLSearchParams): { since?: string; until?: string } {
  const range = params.get('range');
  if (range && range in presets) {
    const { since, until } = windowOf(params);
    return { since, until };
  }
  const since = params.get('since');
  const until = params.get('until');
  return { ...(since ? { since } : {}), ...(until ? { until } : {}) };
}

/** A concrete window, RFC 3339 UTC. */
export interface TimeWindow {
  since: string;
  until: string;
  /** Length in seconds. */
  seconds: number;
}

/** The window the parameters describe, evaluated now (presets slide with the clock). */
export function windowOf(params: URLSearchParams, fallback: Preset = '1h'): TimeWindow {
  const range = params.get('range') ?? (params.get('since') ? 'custom' : fallback);
  if (range === 'custom') {
    const since = params.get('since');
    const until = params.get('until') ?? new Date().toISOString();
    if (since) {
      return { since, until, seconds: Math.max(1, (Date.parse(until) - Date.parse(since)) / 1000) };
    }
  }
  const ms = presets[(range in presets ? range : fallback) as Preset];
  const now = Date.now();
  return { since: new Date(now - ms).toISOString(), until: new Date(now).toISOString(), seconds: ms / 1000 };
}

/**
 * Builds the picker; `onChange` gets the new parameters (the page updates its hash with them).
 * `fallback` must be the one the page passes to windowOf, so the label names the range queried.
 */
export function timeRangePicker(
  params: URLSearchParams,
  onChange: (next: URLSearchParams) => void,
  fallback: Preset = '1h',
  /** Offer auto-refresh (pages that do not refresh say false). */
  withRefresh = true,
): HTMLElement {
  const given = params.get('range') ?? (params.get('since') ? 'custom' : fallback);
  const current = given === 'custom' || given in presets ? given : fallback;
  const win = windowOf(params, fallback);
  const select = h(
    'select',
    { name: 'range' },
    ...[...presetLabels, ['custom', 'Custom…']].map(([v, t]) =>
      h('option', { value: v, selected: v === current }, t),
    ),
  );
  const since = h('input', {
    type: 'datetime-local',
    step: 1,
    name: 'since',
    value: toLocalInput(win.since),
  });
  const until = h('input', {
    type: 'datetime-local',
    step: 1,
    name: 'until',
    value: toLocalInput(win.until),
  });
  const apply = h('button', { type: 'submit' }, 'Apply');
  const custom = h(
    'div',
    { class: 'custom-range', hidden: current !== 'custom' },
    field('From (UTC)', since),
    field('To (UTC)', until),
    apply,
  );
  const refresh = h(
    'select',
    { name: 'refresh' },
    ...[
      ['0', 'Off'],
      ['10', 'Every 10 s'],
      ['30', 'Every 30 s'],
      ['60', 'Every minute'],
    ].map(([v, t]) => h('option', { value: v, selected: (params.get('refresh') ?? '0') === v }, t)),
  );
  // Editing From/To means a custom range, whatever the menu said before.
  const toCustom = () => {
    select.value = 'custom';
  };
  since.addEventListener('input', toCustom);
  until.addEventListener('input', toCustom);
  const emit = () => {
    const next = new URLSearchParams(params);
    next.delete('cursor');
    next.set('range', select.value);
    next.delete('since');
    next.delete('until');
    if (select.value === 'custom') {
      const s = fromLocalInput(since.value);
      const u = fromLocalInput(until.value);
      if (s) next.set('since', s);
      if (u) next.set('until', u);
    }
    if (refresh.value === '0') next.delete('refresh');
    else next.set('refresh', refresh.value);
    onChange(next);
  };
  select.addEventListener('change', () => {
    custom.hidden = select.value !== 'custom';
    if (select.value !== 'custom') emit();
    else since.focus();
  });
  refresh.addEventListener('change', emit);
  const form = h(
    'form',
    { class: 'time-range', 'aria-label': 'Time range' },
    field('Time range', select),
    custom,
    withRefresh ? field('Auto-refresh', refresh) : null,
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    emit();
  });
  return form;
}

/**
 * Re-runs `tick` every `refresh` seconds (from the parameters) until `signal` aborts; a tick
 * that is still running (a slow or hanging API) is not stacked with another.
 */
export function autoRefresh(
  params: URLSearchParams,
  signal: AbortSignal,
  tick: () => Promise<unknown> | undefined,
): void {
  const secs = Number(params.get('refresh') ?? 0);
  if (!secs || !Number.isFinite(secs) || secs < 0) return;
  let busy = false;
  const timer = setInterval(() => {
    if (busy || document.visibilityState !== 'visible') return;
    busy = true;
    void Promise.resolve(tick()).finally(() => {
      busy = false;
    });
  }, secs * 1000);
  signal.addEventListener('abort', () => clearInterval(timer));
}

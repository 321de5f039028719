/**
 * Flow events per second over time, stacked by a dimension (verdict on the overview). Rates are
 * events per second (Hubble flows are events, not bytes). The x axis spans the chosen range and
 * every step without data is drawn as zero: an outage must look like an outage, not like the
 * line between its two neighbours. Hovering shows the exact values of a step; a click pins them
 * with links to the flows of each key in that step; dragging across the chart zooms to the
 * selection. The legend's totals are links too.
 * @module
 */
import * as d3 from 'd3';
import type { Timeseries } from '../api.ts';
import { h, replace } from '../dom.ts';
import { fmtCount, fmtRate } from '../format.ts';
import { colorOf } from './colors.ts';
import { utcTick } from './timeline.ts';

/** Options of the chart. */
export interface StackedAreaOptions {
  width?: number;
  height?: number;
  /** The chosen range (RFC 3339): the axis spans it and empty steps in it count as zero. */
  since?: string;
  until?: string;
  /** Link to the flows of `key` between two times (ISO). */
  href: (key: string, since: string, until: string) => string;
  /** Called with the range dragged across the chart; without it, dragging does nothing. */
  onZoom?: (since: string, until: string) => void;
  label: string;
  /** Unit of the y axis (default events/s). */
  unit?: string;
}

/**
 * The start of every step in [sinceMs, untilMs), aligned like the API's buckets
 * (toStartOfInterval: multiples of the step since the epoch).
 */
export function bucketStarts(sinceMs: number, untilMs: number, stepMs: number, max = 5000): number[] {
  const out: number[] = [];
  if (!(stepMs > 0) || !(untilMs > sinceMs)) return out;
  for (let t = Math.floor(sinceMs / stepMs) * stepMs; t < untilMs && out.length < max; t += stepMs)
    out.push(t);
  return out;
}

type Row = Record<string, number> & { t: number };

/** Rows per step (rate per key), with every step of the range present (missing ones are zero). */
export function stackRows(ts: Timeseries, sinceMs?: number, untilMs?: number): Row[] {
  const stepMs = ts.step_seconds * 1000;
  const counts = new Map<number, Map<string, number>>();
  for (const s of ts.series) {
    for (const p of s.points) {
      const t = Date.parse(p.t);
      const m = counts.get(t) ?? new Map<string, number>();
      m.set(s.key, (m.get(s.key) ?? 0) + p.count);
      counts.set(t, m);
    }
  }
  const dataTimes = [...counts.keys()].sort((a, b) => a - b);
  const lo = sinceMs ?? dataTimes[0];
  const hi = untilMs ?? (dataTimes.length ? dataTimes[dataTimes.length - 1]! + stepMs : undefined);
  const times =
    lo !== undefined && hi !== undefined
      ? [...new Set([...bucketStarts(lo, hi, stepMs), ...dataTimes])].sort((a, b) => a - b)
      : dataTimes;
  return times.map((t) => {
    const row = { t } as Row;
    for (const s of ts.series) row[s.key] = (counts.get(t)?.get(s.key) ?? 0) / ts.step_seconds;
    return row;
  });
}

/** Draws the chart and its legend; returns a figure element. */
export function stackedArea(ts: Timeseries, opts: StackedAreaOptions): HTMLElement {
  const width = opts.width ?? 760;
  const height = opts.height ?? 240;
  const margin = { top: 22, right: 16, bottom: 28, left: 56 };
  const step = ts.step_seconds;
  const stepMs = step * 1000;
  const keys = ts.series.map((s) => s.key);
  const sinceMs = opts.since ? Date.parse(opts.since) : undefined;
  const untilMs = opts.until ? Date.parse(opts.until) : undefined;
  const rows = stackRows(ts, sinceMs, untilMs);
  // The last step is drawn to its end too, so the final bucket has a width.
  const lastRow = rows[rows.length - 1];
  const drawn = lastRow ? [...rows, { ...lastRow, t: lastRow.t + stepMs }] : rows;
  const stack = d3.stack<Row>().keys(keys)(drawn);
  const domain: [number, number] = [
    sinceMs ?? rows[0]?.t ?? 0,
    untilMs ?? (rows.length ? rows[rows.length - 1]!.t + stepMs : 1),
  ];
  const x = d3
    .scaleUtc()
    .domain(domain)
    .range([margin.left, width - margin.right]);
  const yMax = d3.max(stack, (l) => d3.max(l, (p) => p[1])) ?? 1;
  const y = d3
    .scaleLinear()
    .domain([0, yMax || 1])
    .nice()
    .range([height - margin.bottom, margin.top]);
  // A step's value is drawn across the whole step, so a gap is a flat zero, not a slope.
  const area = d3
    .area<d3.SeriesPoint<Row>>()
    .x((p) => x(p.data.t))
    .y0((p) => y(p[0]))
    .y1((p) => y(p[1]))
    .curve(d3.curveStepAfter);

  const svg = d3
    .create('svg')
    .attr('viewBox', `0 0 ${width} ${height}`)
    .attr('role', 'img')
    .attr('aria-label', opts.label)
    .attr('class', 'chart stacked-area')
    .attr('data-since', new Date(domain[0]).toISOString())
    .attr('data-until', new Date(domain[1]).toISOString())
    .attr('data-steps', rows.length);
  if (ts.series.length === 0) {
    svg
      .append('text')
      .attr('x', width / 2)
      .attr('y', height / 2)
      .attr('text-anchor', 'middle')
      .attr('fill', 'currentColor')
      .text('No flow events in this range');
  }
  svg
    .append('g')
    .attr('class', 'axis x')
    .attr('transform', `translate(0,${height - margin.bottom})`)
    .call(
      d3
        .axisBottom(x)
        .ticks(8)
        .tickFormat(utcTick(domain[1] - domain[0])),
    );
  svg
    .append('g')
    .attr('class', 'axis y')
    .attr('transform', `translate(${margin.left},0)`)
    .call(d3.axisLeft(y).ticks(5))
    .call((g) =>
      g
        .append('text')
        .attr('x', -margin.left + 4)
        .attr('y', margin.top - 10)
        .attr('fill', 'currentColor')
        .attr('text-anchor', 'start')
        .text(opts.unit ?? 'events/s'),
    );
  svg
    .append('g')
    .selectAll('path')
    .data(stack)
    .join('path')
    .attr('class', 'area')
    .attr('data-key', (d) => d.key)
    .attr('fill', (d) => colorOf(d.key))
    .attr('fill-opacity', 0.85)
    .attr('d', area);

  const rule = svg
    .append('line')
    .attr('class', 'hover-rule')
    .attr('y1', margin.top)
    .attr('y2', height - margin.bottom)
    .attr('stroke', 'currentColor')
    .attr('stroke-opacity', 0.5)
    .style('display', 'none');
  const sel = svg
    .append('rect')
    .attr('class', 'zoom-selection')
    .attr('y', margin.top)
    .attr('height', height - margin.bottom - margin.top)
    .attr('fill', 'currentColor')
    .attr('fill-opacity', 0.12)
    .style('display', 'none');
  const overlay = svg
    .append('rect')
    .attr('class', 'overlay')
    .attr('x', margin.left)
    .attr('y', margin.top)
    .attr('width', width - margin.left - margin.right)
    .attr('height', height - margin.bottom - margin.top)
    .attr('fill', 'transparent')
    .style('cursor', opts.onZoom ? 'crosshair' : 'pointer');

  const tip = h('div', { class: 'chart-tip', role: 'tooltip', hidden: true });
  const rowAt = (px: number): Row | undefined => {
    const t = x.invert(px).getTime();
    return rows[d3.bisector((r: Row) => r.t).right(rows, t) - 1] ?? rows[0];
  };
  let pinned = false;
  const showTip = (px: number, pin: boolean) => {
    const r = rowAt(px);
    if (!r) return;
    const from = new Date(r.t).toISOString();
    const to = new Date(r.t + stepMs).toISOString();
    rule.attr('x1', x(r.t)).attr('x2', x(r.t)).style('display', null);
    const total = keys.reduce((a, k) => a + (r[k] ?? 0), 0);
    replace(
      tip,
      h('div', { class: 'tip-time' }, `${from.slice(11, 19)}–${to.slice(11, 19)} UTC`),
      h(
        'table',
        {},
        h(
          'tbody',
          {},
          ...keys
            .slice()
            .reverse()
            .map((k) => {
              const rate = r[k] ?? 0;
              const count = Math.round(rate * step);
              return h(
                'tr',
                { 'data-key': k },
                h('td', {}, h('span', { class: 'swatch', style: `background:${colorOf(k)}` }), ` ${k}`),
                h('td', { class: 'num' }, `${fmtRate(rate)}/s`),
                h(
                  'td',
                  { class: 'num' },
                  count > 0 ? h('a', { href: opts.href(k, from, to) }, fmtCount(count)) : '0',
                ),
              );
            }),
          h(
            'tr',
            { class: 'tip-total' },
            h('td', {}, 'Total'),
            h('td', { class: 'num' }, `${fmtRate(total)}/s`),
            h('td', { class: 'num' }, fmtCount(Math.round(total * step))),
          ),
        ),
      ),
      pin ? null : h('div', { class: 'hint' }, 'Click to pin with links; drag to zoom.'),
    );
    tip.hidden = false;
    tip.classList.toggle('pinned', pin);
    const frac = (x(r.t) - 0) / width;
    tip.style.left = frac > 0.6 ? '' : `calc(${(frac * 100).toFixed(1)}% + 12px)`;
    tip.style.right = frac > 0.6 ? `calc(${((1 - frac) * 100).toFixed(1)}% + 12px)` : '';
  };
  const svgX = (ev: PointerEvent) => d3.pointer(ev, svg.node())[0];
  let dragFrom: number | null = null;
  overlay
    .on('pointermove', (ev: PointerEvent) => {
      const px = svgX(ev);
      if (dragFrom !== null) {
        const a = Math.min(dragFrom, px);
        sel
          .attr('x', a)
          .attr('width', Math.abs(px - dragFrom))
          .style('display', null);
        return;
      }
      if (!pinned) showTip(px, false);
    })
    .on('pointerleave', () => {
      if (pinned || dragFrom !== null) return;
      tip.hidden = true;
      rule.style('display', 'none');
    })
    .on('pointerdown', (ev: PointerEvent) => {
      dragFrom = svgX(ev);
      (ev.target as Element).setPointerCapture?.(ev.pointerId);
    })
    .on('pointerup', (ev: PointerEvent) => {
      const from = dragFrom;
      dragFrom = null;
      sel.style('display', 'none');
      if (from === null) return;
      const to = svgX(ev);
      if (Math.abs(to - from) > 6 && opts.onZoom) {
        const [a, b] = [x.invert(Math.min(from, to)), x.invert(Math.max(from, to))];
        opts.onZoom(a.toISOString(), b.toISOString());
        return;
      }
      pinned = !pinned || tip.hidden;
      showTip(to, pinned);
    });

  const since = new Date(domain[0]).toISOString();
  const until = new Date(domain[1]).toISOString();
  const legend = h(
    'ul',
    { class: 'legend' },
    ...ts.series.map((s) => {
      const total = s.points.reduce((a, p) => a + p.count, 0);
      return h(
        'li',
        {},
        h('span', { class: 'swatch', style: `background:${colorOf(s.key)}`, 'aria-hidden': 'true' }),
        h('a', { href: opts.href(s.key, since, until), class: 'num' }, `${s.key}: ${fmtCount(total)} events`),
      );
    }),
  );
  const figure = h('figure', { class: 'chart-figure' });
  figure.append(svg.node() as SVGSVGElement, tip, legend);
  return figure;
}

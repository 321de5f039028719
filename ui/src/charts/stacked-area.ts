/**
 * Flow events per second over time, stacked by a dimension (verdict on the overview). Rates are
 * events per second (Hubble flows are events, not bytes). Clicking a band opens the flows of
 * that key in that step; the legend's totals are links too.
 * @module
 */
import * as d3 from 'd3';
import type { Timeseries } from '../api.ts';
import { h } from '../dom.ts';
import { fmtCount } from '../format.ts';
import { colorOf } from './colors.ts';
import { utcTick } from './timeline.ts';

/** Options of the chart. */
export interface StackedAreaOptions {
  width?: number;
  height?: number;
  /** Link to the flows of `key` between two times (ISO). */
  href: (key: string, since: string, until: string) => string;
  label: string;
}

/** Draws the chart and its legend; returns a figure element. */
export function stackedArea(ts: Timeseries, opts: StackedAreaOptions): HTMLElement {
  const width = opts.width ?? 760;
  const height = opts.height ?? 240;
  const margin = { top: 22, right: 16, bottom: 28, left: 56 };
  const step = ts.step_seconds;
  const keys = ts.series.map((s) => s.key);
  const times = [...new Set(ts.series.flatMap((s) => s.points.map((p) => p.t)))].sort(
    (a, b) => Date.parse(a) - Date.parse(b),
  );
  const rows = times.map((t) => {
    const row: Record<string, number> & { t: number } = { t: Date.parse(t) };
    for (const s of ts.series) row[s.key] = (s.points.find((p) => p.t === t)?.count ?? 0) / step;
    return row;
  });
  const stack = d3.stack<Record<string, number>>().keys(keys)(rows);
  const x = d3
    .scaleUtc()
    .domain(d3.extent(rows, (r) => r.t) as [number, number])
    .range([margin.left, width - margin.right]);
  const yMax = d3.max(stack, (l) => d3.max(l, (p) => p[1])) ?? 1;
  const y = d3
    .scaleLinear()
    .domain([0, yMax || 1])
    .nice()
    .range([height - margin.bottom, margin.top]);
  const area = d3
    .area<d3.SeriesPoint<Record<string, number>>>()
    .x((p) => x(p.data['t'] ?? 0))
    .y0((p) => y(p[0]))
    .y1((p) => y(p[1]))
    .curve(d3.curveMonotoneX);

  const svg = d3
    .create('svg')
    .attr('viewBox', `0 0 ${width} ${height}`)
    .attr('role', 'img')
    .attr('aria-label', opts.label)
    .attr('class', 'chart stacked-area');
  if (rows.length === 0) {
    svg
      .append('text')
      .attr('x', width / 2)
      .attr('y', height / 2)
      .attr('text-anchor', 'middle')
      .text('No flow events in this range');
  }
  svg
    .append('g')
    .attr('transform', `translate(0,${height - margin.bottom})`)
    .call(
      d3
        .axisBottom(x)
        .ticks(Math.min(8, Math.max(2, rows.length)))
        .tickFormat(utcTick((rows[rows.length - 1]?.t ?? 0) - (rows[0]?.t ?? 0))),
    );
  svg
    .append('g')
    .attr('transform', `translate(${margin.left},0)`)
    .call(d3.axisLeft(y).ticks(5))
    .call((g) =>
      g
        .append('text')
        .attr('x', -margin.left + 4)
        .attr('y', margin.top - 10)
        .attr('fill', 'currentColor')
        .attr('text-anchor', 'start')
        .text('events/s'),
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
    .attr('d', area)
    .style('cursor', 'pointer')
    .on('click', (ev: MouseEvent, d) => {
      const [mx] = d3.pointer(ev);
      const t = x.invert(mx).getTime();
      const start = Math.floor(t / (step * 1000)) * step * 1000;
      location.hash = opts.href(
        d.key,
        new Date(start).toISOString(),
        new Date(start + step * 1000).toISOString(),
      );
    })
    .append('title')
    .text((d) => `${d.key}: click for the flows of this step`);

  const since = times[0] ?? '';
  const lastT = times[times.length - 1];
  const until = lastT ? new Date(Date.parse(lastT) + step * 1000).toISOString() : '';
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
  figure.append(svg.node() as SVGSVGElement, legend);
  return figure;
}

/**
 * The investigation timeline: one lane per address, one band per owner interval (who held the
 * address, from the attribution API), and every matching flow as a mark at its time, coloured
 * by verdict. It answers "was it really this account at that moment?" at a glance: a mark
 * inside a band belongs to that band's owner.
 * @module
 */
import * as d3 from 'd3';
import type { FlowLine, Owner } from '../api.ts';
import { timeMs } from '../format.ts';
import { colorOf } from './colors.ts';

/** Tick labels in UTC, 24-hour: with the date when the window spans more than a day. */
export function utcTick(spanMs: number): (d: Date | d3.NumberValue) => string {
  const f = d3.utcFormat(spanMs > 86_400_000 ? '%m-%d %H:%M' : spanMs < 600_000 ? '%H:%M:%S' : '%H:%M');
  return (d) => f(d instanceof Date ? d : new Date(Number(d)));
}

/** One owner interval of one address (end undefined: still held). */
export interface Band {
  address: string;
  owner: Owner;
  startMs: number;
  endMs: number | undefined;
}

/** One flow placed on a lane. */
export interface Mark {
  address: string;
  line: FlowLine;
}

/** Options of the timeline. */
export interface TimelineOptions {
  sinceMs: number;
  untilMs: number;
  addresses: string[];
  bands: Band[];
  marks: Mark[];
  width?: number;
  onMark?: (line: FlowLine) => void;
}

/** Draws the timeline SVG (`data-bands` / `data-marks` give the drawn counts). */
export function timeline(opts: TimelineOptions): SVGSVGElement {
  const width = opts.width ?? 1100;
  const lane = 56;
  const margin = { top: 10, right: 16, bottom: 28, left: 150 };
  const height = margin.top + margin.bottom + lane * Math.max(1, opts.addresses.length);
  const x = d3
    .scaleUtc()
    .domain([opts.sinceMs, opts.untilMs])
    .range([margin.left, width - margin.right])
    .clamp(true);
  const y = d3
    .scaleBand<string>()
    .domain(opts.addresses)
    .range([margin.top, height - margin.bottom])
    .padding(0.12);
  const tenantColor = d3.scaleOrdinal<string, string>(d3.schemePastel1);
  const svg = d3
    .create('svg')
    .attr('viewBox', `0 0 ${width} ${height}`)
    .attr('class', 'chart timeline')
    .attr('role', 'img')
    .attr(
      'aria-label',
      `Who held ${opts.addresses.join(', ')}: ${opts.bands.length} owner intervals, ${opts.marks.length} flows`,
    )
    .attr('data-bands', opts.bands.length)
    .attr('data-marks', opts.marks.length);
  svg
    .append('g')
    .attr('transform', `translate(0,${height - margin.bottom})`)
    .call(
      d3
        .axisBottom(x)
        .ticks(8)
        .tickFormat(utcTick(opts.untilMs - opts.sinceMs)),
    );
  svg
    .append('g')
    .attr('transform', `translate(${margin.left},0)`)
    .call(d3.axisLeft(y).tickSize(0))
    .call((g) => g.select('.domain').remove());

  const bands = svg.append('g').selectAll('g').data(opts.bands).join('g').attr('class', 'band-group');
  const bandX = (b: Band) => x(Math.max(b.startMs, opts.sinceMs));
  const bandW = (b: Band) => Math.max(2, x(Math.min(b.endMs ?? opts.untilMs, opts.untilMs)) - bandX(b));
  bands
    .append('rect')
    .attr('class', 'band')
    .attr('x', bandX)
    .attr('width', bandW)
    .attr('y', (b) => y(b.address) ?? 0)
    .attr('height', y.bandwidth())
    .attr('fill', (b) => tenantColor(b.owner.tenant))
    .append('title')
    .text(
      (b) =>
        `${b.owner.tenant}/${b.owner.account} · job ${b.owner.job} · alloc ${b.owner.alloc_id}\n` +
        `${b.owner.start ?? '?'} → ${b.owner.end ?? 'still held'} (${b.owner.source})`,
    );
  bands
    .append('text')
    .attr('x', (b) => bandX(b) + 4)
    .attr('y', (b) => (y(b.address) ?? 0) + 13)
    .attr('font-size', 11)
    .text((b) => (bandW(b) > 60 ? `${b.owner.tenant}/${b.owner.account} · ${b.owner.job}` : ''));

  const jitter = d3.randomLcg(42);
  svg
    .append('g')
    .selectAll('circle')
    .data(opts.marks)
    .join('circle')
    .attr('class', 'mark')
    .attr('cx', (m) => x(timeMs(m.line.flow.time ?? m.line.time ?? '')))
    .attr('cy', (m) => (y(m.address) ?? 0) + 18 + jitter() * (y.bandwidth() - 22))
    .attr('r', 3.5)
    .attr('fill', (m) => colorOf(m.line.flow.verdict ?? ''))
    .style('cursor', 'pointer')
    .on('click', (_ev, m) => opts.onMark?.(m.line))
    .append('title')
    .text(
      (m) =>
        `${m.line.flow.time} ${m.line.flow.verdict} ${m.line.flow.IP?.source} → ${m.line.flow.IP?.destination}`,
    );
  return svg.node() as SVGSVGElement;
}

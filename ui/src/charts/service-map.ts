/**
 * The tenant's service map: a d3 force-directed graph of its jobs and their peers (other
 * tenants' jobs, platform services, bare addresses), edge width by flow-event count, and edges
 * carrying dropped events drawn red and dashed. The layout is computed up front (fixed number of
 * ticks) so the picture is stable between refreshes and screenshots.
 * @module
 */
import * as d3 from 'd3';
import type { TopologyEdge } from '../api.ts';
import { fmtCount } from '../format.ts';
import { colorOf } from './colors.ts';

interface MapNode extends d3.SimulationNodeDatum {
  id: string;
  kind: 'own' | 'other-tenant' | 'address';
  flows: number;
}

interface MapLink extends d3.SimulationLinkDatum<MapNode> {
  edge: TopologyEdge;
}

/** Options of the map. */
export interface ServiceMapOptions {
  tenant: string;
  width?: number;
  height?: number;
  onEdge?: (edge: TopologyEdge) => void;
}

/** True for an address node: an address, a CIDR group (`10.0.0.0/24`) or the `world` group. */
export function isAddressNode(id: string): boolean {
  return id === 'world' || /^[0-9a-f:.]+(\/\d+)?$/i.test(id) || isNameNode(id);
}

/** True for a DNS-name group (`smtp.example.net`): no slash, a dot, and not an address. */
export function isNameNode(id: string): boolean {
  return !id.includes('/') && /^(?=.*[a-z_])[a-z0-9_-]+(\.[a-z0-9_-]+)+$/i.test(id);
}

/** How address nodes are grouped so a map with thousands of peers stays readable. */
export type Grouping = 'none' | '24' | 'world' | 'dns';

/**
 * The group of a node: owners stay themselves; addresses become their /24 (IPv4), `world`, or
 * (`dns`) the DNS name they were looked up by, else their /24.
 */
export function groupOf(id: string, grouping: Grouping, name?: string): string {
  if (grouping === 'none' || !isAddressNode(id) || id === 'world') return id;
  if (grouping === 'world') return 'world';
  if (grouping === 'dns' && name) return name;
  const m = /^(\d+\.\d+\.\d+)\.\d+$/.exec(id);
  return m ? `${m[1]}.0/24` : id;
}

/** Edges between groups, with flows and drops summed (an edge per pair of groups). */
export function groupEdges(edges: TopologyEdge[], grouping: Grouping): TopologyEdge[] {
  if (grouping === 'none') return edges;
  const out = new Map<string, TopologyEdge>();
  for (const e of edges) {
    const source = groupOf(e.source, grouping, e.source_name);
    const destination = groupOf(e.destination, grouping, e.destination_name);
    const k = `${source}\u0000${destination}`;
    const g = out.get(k);
    if (!g) {
      out.set(k, {
        ...e,
        source,
        destination,
        raw: { verdicts: { ...((e.raw['verdicts'] as object) ?? {}) } },
      });
      continue;
    }
    g.flows += e.flows;
    g.dropped += e.dropped;
    const v = g.raw['verdicts'] as Record<string, number>;
    for (const [vk, n] of Object.entries((e.raw['verdicts'] as Record<string, number>) ?? {})) {
      v[vk] = (v[vk] ?? 0) + Number(n);
    }
  }
  return [...out.values()];
}

/** The verdict that colours an edge: DROPPED when any event was dropped, else the commonest. */
export function edgeVerdict(e: TopologyEdge): string {
  if (e.dropped > 0) return 'DROPPED';
  const v = Object.entries((e.raw['verdicts'] as Record<string, number>) ?? {}).sort(
    (a, b) => Number(b[1]) - Number(a[1]),
  );
  return v[0]?.[0] ?? 'FORWARDED';
}

/** Node kind: the tenant's own jobs, another owner, or a bare address. */
export function nodeKind(id: string, tenant: string): MapNode['kind'] {
  if (isAddressNode(id)) return 'address';
  return id.startsWith(`${tenant}/`) ? 'own' : 'other-tenant';
}

const kindColor: Record<MapNode['kind'], string> = {
  own: '#1f5fbf',
  'other-tenant': '#8e24aa',
  address: '#78909c',
};

/** Draws the map; `data-nodes` and `data-edges` on the SVG give the drawn counts. */
export function serviceMap(edges: TopologyEdge[], opts: ServiceMapOptions): SVGSVGElement {
  const width = opts.width ?? 1100;
  const height = opts.height ?? 560;
  const nodes = new Map<string, MapNode>();
  for (const e of edges) {
    for (const id of [e.source, e.destination]) {
      const n = nodes.get(id) ?? { id, kind: nodeKind(id, opts.tenant), flows: 0 };
      n.flows += e.flows;
      nodes.set(id, n);
    }
  }
  const links: MapLink[] = edges.map((edge) => ({ source: edge.source, target: edge.destination, edge }));
  const list = [...nodes.values()];
  const sim = d3
    .forceSimulation(list)
    .force(
      'link',
      d3
        .forceLink<MapNode, MapLink>(links)
        .id((d) => d.id)
        // Bigger maps spread further so labels stay apart.
        .distance(Math.max(90, Math.min(width, height) / 3.5)),
    )
    .force('charge', d3.forceManyBody().strength(-Math.min(1400, 260 + 40 * list.length)))
    .force('x', d3.forceX(width / 2).strength(0.04))
    .force('y', d3.forceY(height / 2).strength(0.12))
    .force('collide', d3.forceCollide(26))
    .stop();
  for (let i = 0; i < 300; i++) sim.tick();
  for (const n of list) {
    n.x = Math.max(30, Math.min(width - 30, n.x ?? 0));
    n.y = Math.max(20, Math.min(height - 20, n.y ?? 0));
  }
  const w = d3
    .scaleSqrt()
    .domain([1, d3.max(edges, (e) => e.flows) ?? 1])
    .range([1, 8]);
  const r = d3
    .scaleSqrt()
    .domain([1, d3.max(list, (n) => n.flows) ?? 1])
    .range([5, 18]);

  const root = d3
    .create('svg')
    .attr('viewBox', `0 0 ${width} ${height}`)
    .attr('class', 'chart service-map')
    .attr('role', 'img')
    .attr(
      'aria-label',
      `Service map of ${opts.tenant || 'the cluster'}: ${list.length} nodes, ${edges.length} edges`,
    )
    .attr('data-nodes', list.length)
    .attr('data-edges', edges.length);
  // Zoom and pan with the wheel and a drag on the background; nodes drag on their own.
  const svg = root.append('g').attr('class', 'viewport');
  const zoom = d3
    .zoom<SVGSVGElement, unknown>()
    .scaleExtent([0.3, 6])
    .on('zoom', (ev: d3.D3ZoomEvent<SVGSVGElement, unknown>) =>
      svg.attr('transform', ev.transform.toString()),
    );
  (root as unknown as d3.Selection<SVGSVGElement, unknown, null, undefined>).call(zoom);
  root
    .append('defs')
    .append('marker')
    .attr('id', 'arrow')
    .attr('viewBox', '0 -5 10 10')
    .attr('refX', 10)
    .attr('markerUnits', 'userSpaceOnUse')
    .attr('markerWidth', 8)
    .attr('markerHeight', 8)
    .attr('orient', 'auto')
    .append('path')
    .attr('d', 'M0,-5L10,0L0,5')
    .attr('fill', '#90a4ae');
  const pos = (n: string | number | MapNode) => n as MapNode;
  // Lines stop at the target's rim so the arrow head stays visible.
  const end = (l: MapLink) => {
    const a = pos(l.source);
    const b = pos(l.target);
    const dx = (b.x ?? 0) - (a.x ?? 0);
    const dy = (b.y ?? 0) - (a.y ?? 0);
    const len = Math.hypot(dx, dy) || 1;
    const back = r(Math.max(1, b.flows)) + 2;
    return { x: (b.x ?? 0) - (dx / len) * back, y: (b.y ?? 0) - (dy / len) * back };
  };
  const lines = svg
    .append('g')
    .selectAll('line')
    .data(links)
    .join('line')
    .attr('class', (l) => (l.edge.dropped > 0 ? 'link dropped' : 'link'))
    .attr('data-verdict', (l) => edgeVerdict(l.edge))
    .attr('data-source', (l) => l.edge.source)
    .attr('data-target', (l) => l.edge.destination)
    .attr('stroke', (l) => colorOf(edgeVerdict(l.edge)))
    .attr('stroke-opacity', 0.8)
    .attr('stroke-width', (l) => w(Math.max(1, l.edge.flows)))
    .attr('marker-end', 'url(#arrow)')
    .style('cursor', 'pointer')
    .on('click', (_ev, l) => opts.onEdge?.(l.edge));
  const placeLines = () =>
    lines
      .attr('x1', (l) => pos(l.source).x ?? 0)
      .attr('y1', (l) => pos(l.source).y ?? 0)
      .attr('x2', (l) => end(l).x)
      .attr('y2', (l) => end(l).y);
  placeLines();
  lines
    .append('title')
    .text(
      (l) =>
        `${l.edge.source} → ${l.edge.destination}: ${fmtCount(l.edge.flows)} flow events` +
        (l.edge.dropped ? `, ${fmtCount(l.edge.dropped)} dropped` : ''),
    );
  const node = svg
    .append('g')
    .selectAll('g')
    .data(list)
    .join('g')
    .attr('class', 'node')
    .attr('transform', (n) => `translate(${n.x},${n.y})`)
    .style('cursor', 'grab');
  const drag = d3
    .drag<SVGGElement, MapNode>()
    .on('drag', function (ev: d3.D3DragEvent<SVGGElement, MapNode, MapNode>, n) {
      n.x = ev.x;
      n.y = ev.y;
      d3.select(this).attr('transform', `translate(${n.x},${n.y})`);
      placeLines();
    });
  (node as unknown as d3.Selection<SVGGElement, MapNode, SVGGElement, undefined>).call(drag);
  node
    .append('circle')
    .attr('r', (n) => r(Math.max(1, n.flows)))
    .attr('fill', (n) => kindColor[n.kind])
    .attr('stroke', '#fff')
    .attr('stroke-width', 1.5)
    .append('title')
    .text((n) => `${n.id}: ${fmtCount(n.flows)} flow events`);
  // Owners, groups and DNS names are labelled; bare addresses only by their tooltip, to keep the map legible.
  node
    .filter((n) => n.kind !== 'address' || n.id.includes('/') || n.id === 'world' || isNameNode(n.id))
    .append('text')
    .attr('x', (n) => r(Math.max(1, n.flows)) + 3)
    .attr('y', 4)
    .text((n) => n.id);
  return root.node() as SVGSVGElement;
}

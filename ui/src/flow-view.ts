/**
 * How one stored flow reads in the UI: owner labels for both ends, ports, Hubble's event type
 * names (`trace:to-endpoint`, `drop`, `l7`…), and the flattened field list of the detail drawer.
 * @module
 */
import { EVENT_TYPES, TRACE_SUB_TYPES } from '../../common/filter/vocabulary.ts';
import type { FlowLine, HubbleEndpoint, HubbleFlow, Owner } from './api.ts';

/** Source and destination ports (undefined for ICMP and the like). */
export function ports(f: HubbleFlow): { src?: number; dst?: number } {
  const l4 = f.l4 ?? {};
  const p = l4.TCP ?? l4.UDP ?? l4.SCTP;
  if (!p) return {};
  return { src: p.source_port, dst: p.destination_port };
}

/** The L4 protocol name. */
export function protocol(f: HubbleFlow): string {
  const l4 = f.l4 ?? {};
  return Object.keys(l4)[0] ?? '';
}

// The vocabulary the API accepts, from the one table (common/filter/vocabulary.ts).
const typeNames: Record<number, string> = Object.fromEntries(
  Object.entries(EVENT_TYPES).map(([name, n]) => [n, name]),
);
const traceSub: Record<number, string> = Object.fromEntries(
  Object.entries(TRACE_SUB_TYPES).map(([name, n]) => [n, name]),
);

/** Hubble's name of the event type, as `hubble observe -t` takes it. */
export function eventType(f: HubbleFlow): string {
  const t = f.event_type?.type;
  if (t === undefined) return f.Type ?? '';
  const name = typeNames[t] ?? String(t);
  if (t === 4) {
    const sub = traceSub[f.event_type?.sub_type ?? 0];
    return sub ? `${name}:${sub}` : name;
  }
  return name;
}

/**
 * A short owner label: `tenant/job` (account) or Hubble's own identity when unattributed. An end
 * whose labels disagreed with the ownership interval gets a `⚠ labels: tenant/job` marker.
 */
export function ownerLabel(owner: Owner | null, ep: HubbleEndpoint | undefined, names?: string[]): string {
  if (owner) {
    const who = [owner.tenant, owner.job || owner.alloc_name || owner.node].filter(Boolean).join('/');
    return (who || owner.source) + conflictMarker(owner);
  }
  if (ep?.pod_name) return ep.namespace ? `${ep.namespace}/${ep.pod_name}` : ep.pod_name;
  const reserved = ep?.labels?.find((l) => l.startsWith('reserved:'));
  if (reserved) return reserved.slice('reserved:'.length);
  if (names?.[0]) return names[0];
  return '';
}

/** A one-line summary: Hubble's Summary, else L7 detail, else TCP flags, else the drop reason. */
export function summary(f: HubbleFlow): string {
  if (f.Summary) return f.Summary;
  const dns = f.l7?.dns;
  if (dns?.query) return `DNS ${dns.query}`;
  const http = f.l7?.http;
  if (http?.method || http?.url)
    return `HTTP ${http.method ?? ''} ${http.url ?? ''} ${http.code ?? ''}`.trim();
  const flags = f.l4?.TCP?.flags;
  const set = flags ? Object.keys(flags).filter((k) => flags[k]) : [];
  const base = set.length ? `TCP Flags: ${set.join(', ')}` : protocol(f);
  return f.drop_reason_desc ? `${base} (${f.drop_reason_desc})` : base;
}

/** Every leaf of a JSON value as `path → value` rows (arrays indexed), for the detail drawer. */
export function flatten(value: unknown, prefix = '', out: [string, string][] = []): [string, string][] {
  if (value === null || value === undefined || typeof value !== 'object') {
    out.push([prefix, value === null || value === undefined ? 'null' : String(value)]);
    return out;
  }
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
  if (entries.length === 0) out.push([prefix, Array.isArray(value) ? '[]' : '{}']);
  for (const [k, v] of entries) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  return out;
}

/** The Hubble JSON of a stored flow line (the line without Flowtrail's attribution). */
export function hubbleJson(line: FlowLine): Record<string, unknown> {
  const { attribution: _attribution, ...rest } = line;
  return rest;
}

/** The labels-vs-ownership marker of an owner label ('' when they agreed). */
export function conflictMarker(owner: Owner): string {
  const c = owner.conflict;
  if (!c) return '';
  const said = 'labels' in c ? [c.labels.tenant, c.labels.job].filter(Boolean).join('/') : '';
  return said ? ` ⚠ labels: ${said}` : ' ⚠ labels disagree';
}

/**
 * Incidents: a rule firing for one owner (tenant, account, allocation), kept open while the
 * findings keep coming. A finding for the same rule and owner within the quiet period of the
 * incident's last event updates it (last seen, event count, addresses, samples) instead of
 * opening another one; every event is counted once although windows overlap, because the
 * incident remembers up to when it has counted (`countedUntilNs`) and takes only newer step
 * buckets of each finding. This module is pure: storage is incident-store.ts.
 * @module
 */
import { createHash } from 'node:crypto';
import type { Severity } from '../../../common/config/alerts.ts';
import { formatTimeNs } from '../../../common/time.ts';
import { type Finding, maxNs, minNs, type SampleFlow } from './evaluator.ts';
import type { Rule } from './rules/index.ts';

/** Lifecycle of an incident. */
export const incidentStatuses = ['open', 'acknowledged', 'resolved'] as const;
export type IncidentStatus = (typeof incidentStatuses)[number];

/** An incident in memory (times in ns, or ms for human actions). */
export interface Incident {
  id: string;
  rule: string;
  severity: Severity;
  status: IncidentStatus;
  tenant: string;
  account: string;
  allocId: string;
  allocName: string;
  namespace: string;
  job: string;
  node: string;
  summary: string;
  firstSeenNs: bigint;
  lastSeenNs: bigint;
  count: number;
  detections: number;
  peak: number;
  countedUntilNs: bigint;
  windowStartNs: bigint;
  windowEndNs: bigint;
  sourceAddresses: string[];
  destinationAddresses: string[];
  ports: number[];
  keys: string[];
  samples: SampleFlow[];
  evidenceUrl: string;
  acknowledgedBy: string;
  acknowledgedAtMs: number;
  resolvedBy: string;
  resolvedAtMs: number;
  note: string;
  createdAtMs: number;
  updatedAtMs: number;
}

/** What a finding did to the book. */
export type IncidentChange = 'created' | 'updated';

/** Knobs of the dedup logic. */
export interface IncidentPolicy {
  /** A finding within this gap after the incident's last event updates it, ns. */
  quietNs: bigint;
  maxSamples: number;
  nowMs: number;
}

const cap = <T>(xs: Iterable<T>, n: number): T[] => [...new Set(xs)].slice(0, n);

/** The dedup key of an incident: rule and owner. */
export function ownerKey(rule: string, o: { tenant: string; account: string; allocId: string }): string {
  return JSON.stringify([rule, o.tenant, o.account, o.allocId]);
}

/** A stable id: re-running a backfill over the same range rewrites the same incidents. */
function incidentId(f: Finding): string {
  const h = createHash('sha256')
    .update(
      JSON.stringify([f.rule, f.owner.tenant, f.owner.account, f.owner.allocId, f.firstSeenNs.toString()]),
    )
    .digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** The /api/v1/flows query that shows the incident's flows. */
export function evidenceUrl(
  rule: Rule,
  i: Pick<Incident, 'tenant' | 'account' | 'allocId' | 'firstSeenNs' | 'lastSeenNs' | 'keys'>,
): string {
  const q = new URLSearchParams();
  q.set('since', formatTimeNs(i.firstSeenNs));
  q.set('until', formatTimeNs(i.lastSeenNs + 1n));
  if (i.allocId) q.append('alloc', i.allocId);
  else {
    if (i.tenant) q.append('tenant', i.tenant);
    if (i.account) q.append('account', i.account);
  }
  for (const [k, vs] of Object.entries(rule.evidence(i.keys))) for (const v of vs) q.append(k, v);
  q.set('order', 'oldest');
  return `/api/v1/flows?${q.toString()}`;
}

/** How a summary lists an incident's keys (exported so redaction can remove exactly this text). */
export function keysText(keys: readonly string[]): string {
  return keys.length ? ` (${keys.slice(0, 5).join(', ')}${keys.length > 5 ? ', …' : ''})` : '';
}

function summarize(rule: Rule, i: Pick<Incident, 'peak' | 'keys' | 'count'>, flagged: boolean): string {
  const peak = Number.isInteger(i.peak) ? String(i.peak) : i.peak.toFixed(1);
  const keys = keysText(i.keys);
  const first = flagged ? '; first-ever port-25 flow of the tenant' : '';
  return `${rule.id}: ${peak} ${rule.measureName} in one window${keys}; ${i.count} flow events${first}`;
}

/**
 * Applies a finding to the open incident of its rule and owner (or undefined), returning the
 * new state and whether it was created or updated, or undefined when nothing changed (the
 * window only re-saw events already counted).
 */
export function applyFinding(
  open: Incident | undefined,
  f: Finding,
  rule: Rule,
  policy: IncidentPolicy,
): { incident: Incident; change: IncidentChange } | undefined {
  const ongoing = open && open.status !== 'resolved' && f.firstSeenNs <= open.lastSeenNs + policy.quietNs;
  if (!ongoing) {
    const base: Incident = {
      id: incidentId(f),
      rule: rule.id,
      severity: rule.severity,
      status: 'open',
      tenant: f.owner.tenant,
      account: f.owner.account,
      allocId: f.owner.allocId,
      allocName: f.owner.allocName,
      namespace: f.owner.namespace,
      job: f.owner.job,
      node: f.owner.node,
      summary: '',
      firstSeenNs: f.firstSeenNs,
      lastSeenNs: f.lastSeenNs,
      count: f.events,
      detections: 1,
      peak: f.peak,
      countedUntilNs: f.windowEndNs,
      windowStartNs: f.windowStartNs,
      windowEndNs: f.windowEndNs,
      sourceAddresses: cap(f.sourceAddresses, 50),
      destinationAddresses: cap(f.destinationAddresses, 50),
      ports: cap(f.ports, 50),
      keys: cap(f.keys, 100),
      samples: f.samples.slice(0, policy.maxSamples),
      evidenceUrl: '',
      acknowledgedBy: '',
      acknowledgedAtMs: 0,
      resolvedBy: '',
      resolvedAtMs: 0,
      note: '',
      createdAtMs: policy.nowMs,
      updatedAtMs: policy.nowMs,
    };
    base.summary = summarize(rule, base, f.flagged);
    base.evidenceUrl = evidenceUrl(rule, base);
    return { incident: base, change: 'created' };
  }
  const fresh = f.buckets.reduce((n, [start, c]) => (start >= open.countedUntilNs ? n + c : n), 0);
  if (fresh === 0 && f.lastSeenNs <= open.lastSeenNs) return undefined;
  const next: Incident = {
    ...open,
    allocName: open.allocName || f.owner.allocName,
    job: open.job || f.owner.job,
    namespace: open.namespace || f.owner.namespace,
    node: open.node || f.owner.node,
    firstSeenNs: minNs(f.firstSeenNs, open.firstSeenNs),
    lastSeenNs: maxNs(f.lastSeenNs, open.lastSeenNs),
    count: open.count + fresh,
    detections: open.detections + 1,
    peak: Math.max(open.peak, f.peak),
    countedUntilNs: maxNs(f.windowEndNs, open.countedUntilNs),
    windowStartNs: f.windowStartNs,
    windowEndNs: f.windowEndNs,
    sourceAddresses: cap([...open.sourceAddresses, ...f.sourceAddresses], 50),
    destinationAddresses: cap([...open.destinationAddresses, ...f.destinationAddresses], 50),
    ports: cap([...open.ports, ...f.ports], 50),
    keys: cap([...open.keys, ...f.keys], 100),
    samples: [...open.samples, ...f.samples].slice(0, policy.maxSamples),
    updatedAtMs: policy.nowMs,
  };
  next.summary = summarize(rule, next, f.flagged || open.summary.includes('first-ever'));
  next.evidenceUrl = evidenceUrl(rule, next);
  return { incident: next, change: 'updated' };
}

/** The incident as the API and the CLI print it (snake_case, RFC 3339 nanosecond times). */
export function incidentJson(i: Incident) {
  const ms = (t: number) => (t ? new Date(t).toISOString() : null);
  return {
    id: i.id,
    rule: i.rule,
    severity: i.severity,
    status: i.status,
    tenant: i.tenant,
    account: i.account,
    alloc_id: i.allocId,
    alloc_name: i.allocName,
    namespace: i.namespace,
    job: i.job,
    node: i.node,
    summary: i.summary,
    first_seen: formatTimeNs(i.firstSeenNs),
    last_seen: formatTimeNs(i.lastSeenNs),
    count: i.count,
    detections: i.detections,
    peak: i.peak,
    window: { start: formatTimeNs(i.windowStartNs), end: formatTimeNs(i.windowEndNs) },
    addresses: { sources: i.sourceAddresses, destinations: i.destinationAddresses },
    ports: i.ports,
    keys: i.keys,
    samples: i.samples,
    evidence_url: i.evidenceUrl,
    acknowledged_by: i.acknowledgedBy || null,
    acknowledged_at: ms(i.acknowledgedAtMs),
    resolved_by: i.resolvedBy || null,
    resolved_at: ms(i.resolvedAtMs),
    note: i.note,
    created_at: ms(i.createdAtMs),
    updated_at: ms(i.updatedAtMs),
  };
}

/** The JSON shape of an incident. */
export type IncidentJson = ReturnType<typeof incidentJson>;

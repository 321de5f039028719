/**
 * Webhook bodies. `json` is Flowtrail's documented payload (README.md beside the engine,
 * version 1): the rule, severity, the owner (tenant, account, job, allocation, node), the
 * addresses and ports involved, counts, the window and links to the evidence. `slack` is an
 * incoming-webhook message (text plus blocks) carrying the same facts for humans.
 * @module
 */
import { formatTimeNs } from '../../../../common/time.ts';
import type { Incident, IncidentChange } from '../incidents.ts';

/** Version of the JSON payload; bumped on incompatible change. */
export const payloadVersion = 1;

/** Builds the JSON payload. `publicUrl` prefixes the links (empty: relative links). */
export function jsonPayload(i: Incident, change: IncidentChange, deliveryId: string, publicUrl: string) {
  const base = publicUrl.replace(/\/+$/, '');
  return {
    version: payloadVersion,
    event: `incident.${change}` as const,
    delivery_id: deliveryId,
    incident_id: i.id,
    rule: i.rule,
    severity: i.severity,
    status: i.status,
    summary: i.summary,
    tenant: i.tenant,
    account: i.account,
    namespace: i.namespace,
    job: i.job,
    allocation: { id: i.allocId, name: i.allocName },
    node: i.node,
    addresses: { sources: i.sourceAddresses, destinations: i.destinationAddresses },
    ports: i.ports,
    keys: i.keys,
    counts: { events: i.count, detections: i.detections, peak: i.peak },
    first_seen: formatTimeNs(i.firstSeenNs),
    last_seen: formatTimeNs(i.lastSeenNs),
    window: { start: formatTimeNs(i.windowStartNs), end: formatTimeNs(i.windowEndNs) },
    evidence_url: `${base}${i.evidenceUrl}`,
    incident_url: `${base}/api/v1/alerts/incidents/${i.id}`,
  };
}

/** The JSON payload's type. */
export type JsonPayload = ReturnType<typeof jsonPayload>;

/** Escapes text for Slack mrkdwn. */
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Builds a Slack incoming-webhook message from the JSON payload. */
export function slackPayload(p: JsonPayload) {
  const who = [
    p.tenant && `tenant *${esc(p.tenant)}*`,
    p.account && `account *${esc(p.account)}*`,
    p.job && `job ${esc(p.job)}`,
    p.allocation.name && `alloc ${esc(p.allocation.name)}`,
    p.node && `node ${esc(p.node)}`,
  ]
    .filter(Boolean)
    .join(', ');
  const text = `[${p.severity}] ${p.rule} ${p.event === 'incident.created' ? 'new incident' : 'incident updated'}: ${who || 'unknown owner'}`;
  const link = (url: string, label: string) =>
    /^https?:\/\//.test(url) ? `<${url}|${label}>` : `${label}: ${url}`;
  return {
    text,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `*${esc(text)}*\n${esc(p.summary)}` } },
      {
        type: 'section',
        fields: [
          { type: 'mrkdwn', text: `*First seen*\n${p.first_seen}` },
          { type: 'mrkdwn', text: `*Last seen*\n${p.last_seen}` },
          { type: 'mrkdwn', text: `*Flow events*\n${p.counts.events}` },
          { type: 'mrkdwn', text: `*Sources*\n${esc(p.addresses.sources.slice(0, 5).join(', ') || '-')}` },
        ],
      },
      {
        type: 'context',
        elements: [
          {
            type: 'mrkdwn',
            text: `${link(p.evidence_url, 'evidence')} · ${link(p.incident_url, 'incident')}`,
          },
        ],
      },
    ],
  };
}

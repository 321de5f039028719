/**
 * What a tenant may see of what is not its own: the one redaction rule, applied by every output
 * (JSON, NDJSON and CSV flows, the Hubble gRPC API, alerts). An end of a flow belongs to the
 * caller when its owner's tenant is the caller's tenant (`ownsEnd`); owner objects of other ends
 * are withheld (flow-rows.ts), and of the Flow itself a peer end loses its identifying detail:
 * Cilium labels (`nomad:tenant=…`, `netreap:nomad.job_id=…`, `k8s:…`), namespace, pod, workloads,
 * service, and the network policies enforced at that end (egress policies sit at the source,
 * ingress policies at the destination; their names, namespaces and labels are the peer's). The
 * address, ports, identity number, `reserved:` labels (world, host…) and DNS names stay, since an
 * investigation of one's own traffic needs to know where it went. Alerts: a tenant sees no other
 * tenant's name in an incident's keys or summary, and no allowlist or custom-rule filter.
 * @module
 */
import type { Endpoint, Flow } from '../../../proto/gen/flow/flow.ts';
import type { Principal } from './principal.ts';

/** Which ends of a flow the caller's tenant owns. */
export interface OwnedEnds {
  source: boolean;
  destination: boolean;
}

/** True when `principal` may see everything (every role but `tenant`). */
export function seesAll(principal: Principal): boolean {
  return principal.role !== 'tenant';
}

/**
 * Whether `principal` may see the identifying detail of an end owned by `ownerTenant` (empty or
 * undefined: nobody's): always for privileged roles, only its own tenant's ends for a tenant.
 */
export function ownsEnd(principal: Principal, ownerTenant: string | undefined | null): boolean {
  return seesAll(principal) || (!!ownerTenant && ownerTenant === principal.tenant);
}

function redactEndpoint(e: Endpoint | undefined): Endpoint | undefined {
  if (!e) return e;
  return {
    ...e,
    namespace: '',
    pod_name: '',
    workloads: [],
    labels: e.labels.filter((l) => l.startsWith('reserved:')),
  };
}

/** The flow as `principal` may see it (the same object when nothing must be hidden). */
export function redactFlow(flow: Flow, principal: Principal, owned: OwnedEnds): Flow {
  if (seesAll(principal) || (owned.source && owned.destination)) return flow;
  const out: Flow = { ...flow };
  if (!owned.source) {
    out.source = redactEndpoint(flow.source);
    out.source_service = undefined;
    out.egress_allowed_by = [];
    out.egress_denied_by = [];
  }
  if (!owned.destination) {
    out.destination = redactEndpoint(flow.destination);
    out.destination_service = undefined;
    out.ingress_allowed_by = [];
    out.ingress_denied_by = [];
  }
  return out;
}

/**
 * The flat CSV form of the same rule: blanks the Flow-derived identifying columns of an end
 * the caller doesn't own (`<prefix><end>_<field>`, e.g. `csv_destination_pod`). Mutates `row`.
 */
export function redactFlatEnds(
  row: Record<string, unknown>,
  principal: Principal,
  owned: OwnedEnds,
  prefix: string,
): void {
  if (seesAll(principal)) return;
  for (const end of ['source', 'destination'] as const) {
    if (owned[end]) continue;
    for (const f of ['namespace', 'pod', 'pod_name', 'labels', 'workloads', 'service']) {
      const k = `${prefix}${end}_${f}`;
      if (k in row) row[k] = '';
    }
  }
}

/** The alert-rule fields naming tenants, accounts or saved filters (hidden from tenants). */
const privateThresholds = ['allowTenants', 'allowAccounts', 'filter'];

/** A rule as GET /alerts/rules shows it to `principal`. */
export function redactRuleView<
  R extends { kind: string; description: string; thresholds: Record<string, unknown> },
>(rule: R, principal: Principal): R {
  if (seesAll(principal)) return rule;
  const thresholds = Object.fromEntries(
    Object.entries(rule.thresholds).filter(([k]) => !privateThresholds.includes(k)),
  );
  // A custom rule's description is free text an operator wrote (it may name tenants).
  const description = rule.kind === 'custom' ? 'Custom rule.' : rule.description;
  return { ...rule, thresholds, description };
}

/** How an incident's rule shapes what a tenant may see of it. */
export interface IncidentRedaction {
  /** The rule's keys are other tenants' names (cross-tenant). */
  keysNameTenants: boolean;
  /** The exact text a summary embeds the keys as (incidents.ts keysText). */
  keysText: (keys: readonly string[]) => string;
  /** For a custom rule: the evidence URL without the rule's saved filter. */
  evidenceWithoutFilter?: string;
}

/**
 * An incident as `principal` may see it: when the rule's keys name other tenants, a tenant sees
 * neither the keys nor their list inside the summary; of a custom rule it sees no saved filter
 * in the evidence URL.
 */
export function redactIncidentView<I extends { keys: string[]; summary: string; evidence_url: string }>(
  incident: I,
  principal: Principal,
  how: IncidentRedaction,
): I {
  if (seesAll(principal)) return incident;
  let out = incident;
  if (how.evidenceWithoutFilter !== undefined) out = { ...out, evidence_url: how.evidenceWithoutFilter };
  if (!how.keysNameTenants || incident.keys.length === 0) return out;
  const text = how.keysText(incident.keys);
  let summary = text ? incident.summary.replace(text, '') : incident.summary;
  // A summary written from an older key list: no key may survive anyway.
  for (const k of incident.keys) if (k) summary = summary.split(k).join('…');
  return { ...out, keys: [], summary };
}

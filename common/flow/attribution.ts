/**
 * The attribution of one end of a flow: who owned the address at the flow's time, how we know,
 * and where the address sits relative to the other end. Written into the `src_*` / `dst_*`
 * columns of `flows` and returned by the API as OWNER objects.
 * @module
 */

/** How an end's owner was found (DESIGN.md "Attribution, precisely"). */
export const attributionSources = ['none', 'label', 'ownership', 'node', 'cidr'] as const;
export type AttributionSource = (typeof attributionSources)[number];

/** Where an address sits relative to the flow's other end. */
export const addressScopes = [
  'unknown',
  'same-tenant',
  'other-tenant',
  'platform',
  'metadata',
  'private',
  'link-local',
  'world',
] as const;
export type AddressScope = (typeof addressScopes)[number];

/** One end's attribution. Empty strings mean "not known". */
export interface EndAttribution {
  tenant: string;
  account: string;
  /** Nomad namespace. */
  namespace: string;
  job: string;
  group: string;
  allocId: string;
  allocName: string;
  /** Nomad node name (or the node that owns a host-networking address). */
  node: string;
  source: AttributionSource;
  scope: AddressScope;
}

/** Both ends, plus a description of any disagreement between labels and ownership. */
export interface FlowAttribution {
  source: EndAttribution;
  destination: EndAttribution;
  /** Empty when labels and ownership agree (or only one of them is known). */
  conflict: string;
}

/** The attribution of an end nobody is known to own. */
export const unattributed: EndAttribution = Object.freeze({
  tenant: '',
  account: '',
  namespace: '',
  job: '',
  group: '',
  allocId: '',
  allocName: '',
  node: '',
  source: 'none',
  scope: 'unknown',
});

/**
 * What one side claimed an end's owner was. Labels claim no allocation; the ownership side also
 * names the allocation that held the address.
 */
export interface OwnerClaim {
  tenant: string;
  account: string;
  namespace: string;
  job: string;
  group: string;
}

/** The fields an OwnerClaim compares, in display order. */
export const ownerClaimFields = ['tenant', 'account', 'namespace', 'job', 'group'] as const;

/**
 * A disagreement between netreap labels and the Nomad ownership interval about one end. The
 * rule (DESIGN.md "Attribution, precisely"): the ownership interval is the authority on which
 * allocation held the address, so the end's owner record is wholly the interval's identity;
 * the labels are evidence, kept here so the disagreement is visible, never resolved silently.
 */
export interface EndConflict {
  /** What the labels said (with tenant/account completed from namespace meta, as ingest reads them). */
  labels: OwnerClaim;
  /** What the ownership interval said, and which allocation it is. */
  ownership: OwnerClaim & { alloc_id: string };
  /** The fields that differ (non-empty on both sides and not equal). */
  fields: (typeof ownerClaimFields)[number][];
}

/** Both ends' conflicts, as the `attribution_conflict` column stores them (JSON text). */
export interface FlowConflict {
  source?: EndConflict;
  destination?: EndConflict;
}

/** The fields on which two claims disagree (both known and different). */
export function conflictingFields(a: OwnerClaim, b: OwnerClaim): EndConflict['fields'] {
  return ownerClaimFields.filter((f) => a[f] !== '' && b[f] !== '' && a[f] !== b[f]);
}

/** The stored text of a conflict: '' when neither end has one, else compact JSON. */
export function encodeConflict(c: FlowConflict): string {
  return c.source || c.destination ? JSON.stringify(c) : '';
}

/**
 * Reads the stored conflict text. Rows written before conflicts were JSON hold free text
 * ("source labels vs ownership (alloc …): tenant a != b; destination …"): each end's part is
 * kept as `description`, with the claims unknown (empty).
 */
export function decodeConflict(text: string): { source?: EndConflictView; destination?: EndConflictView } {
  if (!text) return {};
  if (text.startsWith('{')) {
    try {
      return JSON.parse(text) as FlowConflict;
    } catch {
      // fall through to the free-text form
    }
  }
  const out: { source?: EndConflictView; destination?: EndConflictView } = {};
  for (const part of text.split('; ')) {
    const side = part.startsWith('source ')
      ? 'source'
      : part.startsWith('destination ')
        ? 'destination'
        : undefined;
    if (side) out[side] = { description: part };
  }
  return out;
}

/** A conflict as outputs show it: the structured form, or the legacy text only. */
export type EndConflictView = EndConflict | { description: string };

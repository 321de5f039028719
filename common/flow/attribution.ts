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

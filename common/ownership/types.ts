/**
 * An ownership interval: one owner (a Nomad allocation, or a client node for host addresses)
 * holding one address over [start, end). Shared by the tracker, the in-memory index, the
 * ClickHouse persistence, the who-held service and query-time re-attribution.
 * @module
 */

/** End of an interval that is still open: 2262-01-01T00:00:00Z, the far end of DateTime64(9). */
export const OPEN_END_NS = 9_214_646_400_000_000_000n;

/** What kind of owner holds the address. */
export const ownerKinds = ['alloc', 'node'] as const;
/** One of ownerKinds; a union type rather than an enum (erasable syntax only). */
export type OwnerKind = (typeof ownerKinds)[number];

/** One owner of one address over [start, end) in Unix nanoseconds. Empty strings mean unknown. */
export interface OwnerInterval {
  /** Canonical text form (dotted quad for IPv4, RFC 5952 for IPv6). */
  address: string;
  kind: OwnerKind;
  allocId: string;
  allocName: string;
  namespace: string;
  job: string;
  group: string;
  nodeId: string;
  nodeName: string;
  tenant: string;
  account: string;
  start: bigint;
  /** OPEN_END_NS while the owner still holds the address. */
  end: bigint;
  /** Latest Nomad index folded in. */
  nomadIndex: bigint;
}

/** The synchronous lookups the ingest path needs (the enricher depends on this, not on the tracker). */
export interface OwnershipLookup {
  /** The allocation holding `address` at `t`, if any (the latest-starting one when intervals overlap). */
  allocAt(address: string, t: bigint): OwnerInterval | undefined;
  /** The node holding `address` (host networking) at `t`, if any. */
  nodeAt(address: string, t: bigint): OwnerInterval | undefined;
  /** Tenant and account from namespace meta, when the namespace carries them. */
  namespaceTenancy(namespace: string): { tenant: string; account: string } | undefined;
}

/** The identity of an interval within its address: one owner holds one address once. */
export function intervalKey(iv: Pick<OwnerInterval, 'kind' | 'allocId' | 'nodeId'>): string {
  return iv.kind === 'alloc' ? `a|${iv.allocId}` : `n|${iv.nodeId}`;
}

/**
 * The enricher: attributes both ends of every flow at ingest, synchronously and without I/O
 * (DESIGN.md "Attribution, precisely"):
 *
 * 1. netreap labels (namespace, job, group; `nomad:<key>` for tenant and account);
 * 2. otherwise the ownership interval containing the flow's time (the tracker's index);
 * 3. otherwise a node's host address, or a configured CIDR owner;
 * 4. a scope for every end relative to the other: same or other tenant, platform, cloud
 *    metadata, private, link-local or world.
 *
 * When labels and ownership both know an end and agree, the owner is the labels' identity with
 * the allocation and node of the interval. When they disagree (stale labels on a reused
 * address), the ownership interval is the authority on which allocation held the address: the
 * end's owner is wholly the interval's identity (source `ownership`), never fields of two, and
 * what the labels said is written to `conflict` (common/flow/attribution.ts EndConflict).
 * @module
 */
import type { TenancyConfig } from '../../../common/config/tenancy.ts';
import {
  type AddressScope,
  type AttributionSource,
  conflictingFields,
  type EndAttribution,
  encodeConflict,
  type FlowAttribution,
  type FlowConflict,
  type OwnerClaim,
  unattributed,
} from '../../../common/flow/attribution.ts';
import { type AddressClass, addressClassOrder, scopeOf } from '../../../common/flow/scope.ts';
import type { OwnerInterval, OwnershipLookup } from '../../../common/ownership/types.ts';
import { createCidrSet, createParsedAddress, parseAddress } from './address.ts';
import { createLabelParser, type LabelIdentity } from './labels.ts';

/** The attribution contract with the flow writer, re-exported so callers import one module. */
export type {
  AddressScope,
  AttributionSource,
  EndAttribution,
  FlowAttribution,
} from '../../../common/flow/attribution.ts';

/** Enricher settings: the tenancy slice of the config file. */
export interface EnrichConfig {
  tenancy: TenancyConfig;
}

/** What the enricher reads: the ownership index (never the store). */
export interface EnrichDeps {
  ownership: OwnershipLookup;
}

/** One flow as the enricher needs it, decoupled from the generated Hubble types. */
export interface EnrichInput {
  /** Flow time, Unix nanoseconds. */
  timeNs: bigint;
  sourceIp: string;
  destinationIp: string;
  sourceLabels: readonly string[];
  destinationLabels: readonly string[];
}

/** Attributes flows; `enrich` is the per-flow hot path. */
export interface Enricher {
  enrich(input: EnrichInput): FlowAttribution;
  /** Attributes one address at one time without labels (the who-held path at ingest speed). */
  attributeEnd(ip: string, labels: readonly string[], timeNs: bigint): EndAttribution;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Creates an enricher; CIDRs are parsed here (ConfigError on a bad one). */
export function createEnricher(config: EnrichConfig, deps: EnrichDeps): Enricher {
  const t = config.tenancy;
  const parseLabels = createLabelParser(t);
  // The scope rule's address classes (common/flow/scope.ts), tested in its order.
  const classes = addressClassOrder(t).map(({ cls, cidrs }) => ({ cls, set: createCidrSet(cidrs) }));
  const owners = createCidrSet(t.cidrOwners.map((o) => o.cidr));
  const platformNamespaces = new Set(t.platformNamespaces);
  const { ownership } = deps;

  const parsed = createParsedAddress();
  const addressClass = (ip: string): AddressClass => {
    const p = parseAddress(ip, parsed);
    if (p.family === 0) return 'world';
    for (const c of classes) if (c.set.size > 0 && c.set.indexOfParsed(p) >= 0) return c.cls;
    return 'world';
  };

  let conflict: FlowConflict = {};

  function attribute(
    ip: string,
    labels: readonly string[],
    timeNs: bigint,
    side: 'source' | 'destination',
  ): EndAttribution {
    const fromLabels: LabelIdentity | undefined = labels.length > 0 ? parseLabels(labels) : undefined;
    const owner = ip ? ownership.allocAt(ip, timeNs) : undefined;
    if (fromLabels) {
      // What the labels say, completed from namespace meta only (never from the interval, so
      // the claim stays the labels' own).
      let tenant = fromLabels.tenant;
      let account = fromLabels.account;
      if (!tenant || !account) {
        const ns = fromLabels.namespace ? ownership.namespaceTenancy(fromLabels.namespace) : undefined;
        tenant ||= ns?.tenant || '';
        account ||= ns?.account || '';
      }
      // The common case (agreement) allocates nothing: objects only once a field differs.
      if (owner && disagree(fromLabels, tenant, account, owner)) {
        const said: OwnerClaim = {
          tenant,
          account,
          namespace: fromLabels.namespace,
          job: fromLabels.job,
          group: fromLabels.group,
        };
        const held: OwnerClaim = {
          tenant: owner.tenant,
          account: owner.account,
          namespace: owner.namespace,
          job: owner.job,
          group: owner.group,
        };
        conflict[side] = {
          labels: said,
          ownership: { ...held, alloc_id: owner.allocId },
          fields: conflictingFields(said, held),
        };
        return fromOwnership(owner);
      }
      if (owner) {
        // Agreeing: one identity, whose blanks the interval fills.
        tenant ||= owner.tenant;
        account ||= owner.account;
      }
      return {
        tenant,
        account,
        namespace: fromLabels.namespace || owner?.namespace || '',
        job: fromLabels.job || owner?.job || '',
        group: fromLabels.group || owner?.group || '',
        allocId: owner?.allocId ?? '',
        allocName: owner?.allocName ?? '',
        node: owner?.nodeName ?? '',
        source: 'label',
        scope: 'unknown',
      };
    }
    if (owner) return fromOwnership(owner);
    if (!ip) return end('none', '', '', '', '');
    const node = ownership.nodeAt(ip, timeNs);
    if (node) return end('node', '', '', '', node.nodeName);
    if (owners.size > 0) {
      const i = owners.indexOf(ip);
      if (i >= 0) {
        const o = t.cidrOwners[i]!;
        return end('cidr', o.tenant, o.account, o.name, '');
      }
    }
    return end('none', '', '', '', '');
  }

  const scope = (ip: string, self: EndAttribution, other: EndAttribution): AddressScope =>
    scopeOf(ip ? addressClass(ip) : 'world', ip !== '', self, other.tenant, platformNamespaces);

  const enricher: Enricher = {
    enrich(input) {
      conflict = {};
      const src = attribute(input.sourceIp, input.sourceLabels, input.timeNs, 'source');
      const dst = attribute(input.destinationIp, input.destinationLabels, input.timeNs, 'destination');
      src.scope = scope(input.sourceIp, src, dst);
      dst.scope = scope(input.destinationIp, dst, src);
      return { source: src, destination: dst, conflict: encodeConflict(conflict) };
    },
    attributeEnd(ip, labels, timeNs) {
      conflict = {};
      const end = attribute(ip, labels, timeNs, 'source');
      end.scope = scope(ip, end, unattributed);
      return end;
    },
    async start() {},
    async stop() {},
  };
  return enricher;
}

const differ = (a: string, b: string) => a !== '' && b !== '' && a !== b;

/** True when labels and the ownership interval name different owners (conflictingFields, inline). */
function disagree(l: LabelIdentity, tenant: string, account: string, o: OwnerInterval): boolean {
  return (
    differ(tenant, o.tenant) ||
    differ(account, o.account) ||
    differ(l.namespace, o.namespace) ||
    differ(l.job, o.job) ||
    differ(l.group, o.group)
  );
}

/** An end owned by an ownership interval: wholly that interval's identity. */
function fromOwnership(owner: OwnerInterval): EndAttribution {
  return {
    tenant: owner.tenant,
    account: owner.account,
    namespace: owner.namespace,
    job: owner.job,
    group: owner.group,
    allocId: owner.allocId,
    allocName: owner.allocName,
    node: owner.nodeName,
    source: 'ownership',
    scope: 'unknown',
  };
}

/** Builds a non-workload end with one object shape (keeps the hot path monomorphic). */
function end(
  source: AttributionSource,
  tenant: string,
  account: string,
  job: string,
  node: string,
): EndAttribution {
  return {
    tenant,
    account,
    namespace: '',
    job,
    group: '',
    allocId: '',
    allocName: '',
    node,
    source,
    scope: 'unknown',
  };
}

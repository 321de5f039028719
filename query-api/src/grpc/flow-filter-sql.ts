/**
 * A SQL prefilter for Hubble FlowFilters: it narrows the scan with the fields whose SQL meaning
 * is certain (addresses, ports, identities, verdicts, drop reasons, directions, event types, L4
 * protocols, IP version, encryption) and is always a superset of the exact answer. The exact
 * answer comes from the shared in-memory matcher (collector/src/filter) applied to each row, so
 * Hubble's semantics live in one place: whitelist ORed, fields ANDed, values ORed, blacklist
 * excluded. Blacklists are left to the matcher entirely (negating a superset would drop flows).
 * @module
 */
import type { z } from 'zod';
import { InputError } from '../../../common/errors.ts';
import {
  DropReason,
  type FlowFilter,
  IPVersion,
  TrafficDirection,
  Verdict,
} from '../../../proto/gen/flow/flow.ts';
import { and, anyIn, enumIn, ipIn, or, type SqlParams } from '../filters/index.ts';
import { eventTypeIn } from '../filters/predicates.ts';
import { ipValue, portValue } from '../filters/values.ts';

function parseAll<T extends z.ZodType>(field: string, schema: T, values: readonly string[]): z.output<T>[] {
  return values.map((v) => {
    const r = schema.safeParse(v);
    if (!r.success) throw new InputError(`${field}: ${r.error.issues[0]?.message ?? 'invalid value'}`, field);
    return r.data;
  });
}

const namesOf = (e: Readonly<Record<string, number>>, values: readonly number[]) =>
  values.map((n) => Object.keys(e).find((k) => e[k] === n) ?? `#${n}`);

const l4Protocols: Readonly<Record<string, string[]>> = {
  tcp: ['TCP'],
  udp: ['UDP'],
  sctp: ['SCTP'],
  icmp: ['ICMPv4', 'ICMPv6'],
  icmpv4: ['ICMPv4'],
  icmpv6: ['ICMPv6'],
  vrrp: ['VRRP'],
  igmp: ['IGMP'],
};

/** The prefilter of one FlowFilter: the certain fields ANDed (`1` when none is). */
export function flowFilterPrefilter(p: SqlParams, f: FlowFilter): string {
  const parts: string[] = [];
  const add = (vals: readonly unknown[] | undefined, build: () => string) => {
    if (vals && vals.length > 0) parts.push(build());
  };
  for (const side of ['source', 'destination'] as const) {
    add(f[`${side}_ip`], () => ipIn(p, [`${side}_ip`], parseAll(`${side}_ip`, ipValue, f[`${side}_ip`])));
    add(f[`${side}_port`], () =>
      anyIn(p, [`${side}_port`], parseAll(`${side}_port`, portValue, f[`${side}_port`]), 'UInt16'),
    );
    add(f[`${side}_identity`], () => anyIn(p, [`${side}_identity`], f[`${side}_identity`], 'UInt32'));
  }
  add(f.source_ip_xlated, () =>
    ipIn(p, ['source_xlated'], parseAll('source_ip_xlated', ipValue, f.source_ip_xlated)),
  );
  add(f.verdict, () => enumIn(p, ['verdict'], namesOf(Verdict, f.verdict)));
  add(f.drop_reason_desc, () =>
    anyIn(p, ['drop_reason_desc'], namesOf(DropReason, f.drop_reason_desc), 'String'),
  );
  add(f.traffic_direction, () =>
    enumIn(p, ['traffic_direction'], namesOf(TrafficDirection, f.traffic_direction)),
  );
  add(f.ip_version, () => enumIn(p, ['ip_version'], namesOf(IPVersion, f.ip_version)));
  add(f.encrypted, () => anyIn(p, ['ip_encrypted'], f.encrypted, 'Bool'));
  add(f.event_type, () =>
    eventTypeIn(
      p,
      f.event_type.map((e) => (e.match_sub_type ? { type: e.type, subType: e.sub_type } : { type: e.type })),
    ),
  );
  // Only when every protocol is an L4 one: L7 names are left to the matcher.
  const l4 = f.protocol.map((x) => l4Protocols[x.toLowerCase()]);
  if (f.protocol.length && l4.every((x) => x !== undefined)) {
    parts.push(enumIn(p, ['l4_protocol'], [...new Set(l4.flat() as string[])]));
  }
  return and(parts);
}

/** The prefilter of a whitelist: any filter's prefilter (`1` when the whitelist is empty). */
export function whitelistPrefilter(p: SqlParams, whitelist: readonly FlowFilter[]): string {
  return whitelist.length ? or(whitelist.map((f) => flowFilterPrefilter(p, f))) : '1';
}

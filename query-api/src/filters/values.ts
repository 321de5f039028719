/**
 * Parsers for one value of one flow filter, in Hubble's vocabulary: addresses and CIDRs, ports,
 * protocols, verdicts, event types, label selectors, globs and regular expressions. Each is a zod
 * schema from the query-string text to a typed value, so HTTP, the CLI and the OpenAPI document
 * share one definition; the messages say what was expected, since they end up in 400 answers.
 * @module
 */
import { z } from 'zod';
import { addressScopes } from '../../../common/flow/attribution.ts';
import { formatIpBytes, parseIpBytes } from '../../../common/net/ip.ts';
import { DropReason, TrafficDirection, Verdict } from '../../../proto/gen/flow/flow.ts';

/** An address range, inclusive, as two IPv6 texts (IPv4 is IPv4-mapped, as stored). */
export interface IpRange {
  lo: string;
  hi: string;
}

/** Parses `10.0.0.1`, `10.0.0.0/8`, `2001:db8::/32` into the inclusive range it covers. */
export function parseIpOrCidr(text: string): IpRange | undefined {
  const slash = text.indexOf('/');
  const addr = slash >= 0 ? text.slice(0, slash) : text;
  const bytes = parseIpBytes(addr);
  if (!bytes) return undefined;
  const v4 = !addr.includes(':');
  let prefix = v4 ? 32 : 128;
  if (slash >= 0) {
    const p = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p) || Number(p) > prefix) return undefined;
    prefix = Number(p);
  }
  const bits = (v4 ? 96 : 0) + prefix;
  const lo = new Uint8Array(bytes);
  const hi = new Uint8Array(bytes);
  for (let bit = bits; bit < 128; bit++) {
    const i = bit >> 3;
    const mask = 0x80 >> (bit & 7);
    lo[i] = lo[i]! & ~mask;
    hi[i] = hi[i]! | mask;
  }
  return { lo: formatV6(lo), hi: formatV6(hi) };
}

// ClickHouse parses '::ffff:1.2.3.4' into an IPv6 value; formatIpBytes would print a bare IPv4.
function formatV6(b: Uint8Array): string {
  const text = formatIpBytes(b);
  return text.includes(':') ? text : `::ffff:${text}`;
}

const bad = (what: string) => (v: string) => `expected ${what}, got "${v.slice(0, 80)}"`;

/** An address or CIDR. */
export const ipValue = z.string().transform((v, ctx) => {
  const r = parseIpOrCidr(v.trim());
  if (!r) ctx.addIssue({ code: 'custom', message: bad('an IPv4/IPv6 address or CIDR')(v) });
  return r as IpRange;
});

/** A port number. */
export const portValue = z
  .string()
  .regex(/^\d{1,5}$/, 'expected a port number 0-65535')
  .transform(Number)
  .refine((n) => n <= 65535, 'expected a port number 0-65535');

/** L4 protocols as stored in `l4_protocol`, L7 ones as stored in `l7_protocol`. */
const protocolNames: Readonly<Record<string, { l4?: string[]; l7?: string }>> = {
  tcp: { l4: ['TCP'] },
  udp: { l4: ['UDP'] },
  sctp: { l4: ['SCTP'] },
  icmp: { l4: ['ICMPv4', 'ICMPv6'] },
  icmpv4: { l4: ['ICMPv4'] },
  icmpv6: { l4: ['ICMPv6'] },
  vrrp: { l4: ['VRRP'] },
  igmp: { l4: ['IGMP'] },
  dns: { l7: 'dns' },
  http: { l7: 'http' },
  kafka: { l7: 'kafka' },
};

/** What a protocol filter value selects. */
export interface ProtocolMatch {
  l4: string[];
  l7: string[];
}

/** A protocol name as `hubble observe --protocol` takes it (case-insensitive). */
export const protocolValue = z.string().transform((v, ctx) => {
  const p = protocolNames[v.trim().toLowerCase()];
  if (!p)
    ctx.addIssue({ code: 'custom', message: bad(`one of ${Object.keys(protocolNames).join(', ')}`)(v) });
  return { l4: p?.l4 ?? [], l7: p?.l7 ? [p.l7] : [] } satisfies ProtocolMatch;
});

function enumValue(names: readonly string[], what: string) {
  const byUpper = new Map(names.map((n) => [n.toUpperCase(), n]));
  return z.string().transform((v, ctx) => {
    const name = byUpper.get(v.trim().toUpperCase());
    if (!name) ctx.addIssue({ code: 'custom', message: bad(`${what}: one of ${names.join(', ')}`)(v) });
    return name as string;
  });
}

/** A verdict name (FORWARDED, DROPPED, …). */
export const verdictValue = enumValue(
  Object.keys(Verdict).filter((k) => k !== 'VERDICT_UNKNOWN'),
  'a verdict',
);

/** A traffic direction (ingress, egress). */
export const directionValue = enumValue(
  Object.keys(TrafficDirection).filter((k) => k !== 'TRAFFIC_DIRECTION_UNKNOWN'),
  'a traffic direction',
);

/** A yes/no filter value: `true` or `false`. */
export const boolValue = z
  .string()
  .refine((v) => v === 'true' || v === 'false', 'expected true or false')
  .transform((v) => v === 'true');

/** An address scope as the enricher assigns it. */
export const scopeValue = enumValue(addressScopes, 'an address scope');

const dropByNumber = new Map(Object.entries(DropReason).map(([name, n]) => [String(n), name]));

/** A drop reason by name (POLICY_DENIED) or number (133). */
export const dropReasonValue = z.string().transform((v, ctx) => {
  const t = v.trim().toUpperCase();
  const name = /^\d+$/.test(t) ? dropByNumber.get(String(Number(t))) : t in DropReason ? t : undefined;
  if (!name)
    ctx.addIssue({ code: 'custom', message: bad('a drop reason name (POLICY_DENIED) or number')(v) });
  return name as string;
});

/** Cilium monitor event types by the names `hubble observe -t` accepts. */
const eventTypes: Readonly<Record<string, number>> = {
  drop: 1,
  debug: 2,
  capture: 3,
  trace: 4,
  'policy-verdict': 5,
  recorder: 6,
  'trace-sock': 7,
  l7: 129,
  agent: 130,
};

/** Trace observation points (event sub-types of `trace`). */
const traceSubTypes: Readonly<Record<string, number>> = {
  'to-endpoint': 0,
  'to-proxy': 1,
  'to-host': 2,
  'to-stack': 3,
  'to-overlay': 4,
  'from-endpoint': 5,
  'from-proxy': 6,
  'from-host': 7,
  'from-stack': 8,
  'from-overlay': 9,
  'from-network': 10,
  'to-network': 11,
  'from-crypto': 12,
  'to-crypto': 13,
};

/** An event type with an optional sub-type, as in Hubble's EventTypeFilter. */
export interface EventTypeMatch {
  type: number;
  subType?: number;
}

/** `drop`, `trace:to-endpoint`, `l7`, `policy-verdict`, or numbers such as `4:0`. */
export const eventTypeValue = z.string().transform((v, ctx) => {
  const [t = '', sub] = v.trim().toLowerCase().split(':', 2);
  const type = /^\d{1,3}$/.test(t) ? Number(t) : eventTypes[t];
  let subType: number | undefined;
  if (sub !== undefined) subType = /^\d{1,3}$/.test(sub) ? Number(sub) : traceSubTypes[sub];
  if (type === undefined || type > 255 || (sub !== undefined && (subType === undefined || subType > 255))) {
    ctx.addIssue({
      code: 'custom',
      message: bad(`an event type (${Object.keys(eventTypes).join(', ')}, optionally :sub-type)`)(v),
    });
  }
  return (subType === undefined ? { type } : { type, subType }) as EventTypeMatch;
});

/** Security identities, by number or reserved name. */
const reservedIdentities: Readonly<Record<string, number>> = {
  host: 1,
  world: 2,
  unmanaged: 3,
  health: 4,
  init: 5,
  'remote-node': 6,
  'kube-apiserver': 7,
  ingress: 8,
  'world-ipv4': 9,
  'world-ipv6': 10,
};

/** A numeric security identity or a reserved identity name. */
export const identityValue = z.string().transform((v, ctx) => {
  const t = v.trim().toLowerCase();
  const n = /^\d{1,10}$/.test(t) ? Number(t) : reservedIdentities[t.replace(/^reserved:/, '')];
  if (n === undefined || n > 0xffffffff)
    ctx.addIssue({ code: 'custom', message: bad('a security identity')(v) });
  return n as number;
});

/** One requirement of a label selector. */
export interface LabelRequirement {
  /** Label source (`k8s`, `reserved`, `netreap`…); undefined matches any source. */
  source?: string;
  key: string;
  op: 'exists' | 'absent' | 'eq' | 'neq';
  value: string;
}

const labelKey = /^(?:([A-Za-z0-9][A-Za-z0-9_.-]*):)?([A-Za-z0-9_./-]+)$/;

/**
 * A label selector: comma-separated requirements that must all hold, each `key`, `!key`,
 * `key=value`, `key==value` or `key!=value`; a key may carry a source (`k8s:app=web`), without
 * one it matches labels of any source, as Cilium's label selectors do.
 */
export const labelValue = z.string().transform((v, ctx) => {
  const out: LabelRequirement[] = [];
  for (const raw of v.split(',')) {
    const part = raw.trim();
    const m = /^(!)?([^=!]+?)\s*(?:(==|=|!=)\s*(.*))?$/.exec(part);
    const key = m ? labelKey.exec(m[2]!.trim()) : null;
    const value = m?.[4] ?? '';
    if (!m || !key || (m[1] && m[3]) || /[\s,()=]/.test(value) || value.length > 253) {
      ctx.addIssue({ code: 'custom', message: bad('a label selector like k8s:app=web or !key')(v) });
      return [] as LabelRequirement[];
    }
    const op = m[1] ? 'absent' : m[3] === '!=' ? 'neq' : m[3] ? 'eq' : 'exists';
    out.push({ ...(key[1] ? { source: key[1] } : {}), key: key[2]!, op, value });
  }
  return out;
});

/** A `[namespace/]pod-name-prefix`, as Hubble's pod filters take it. */
export interface PodMatch {
  namespace?: string;
  prefix: string;
}

/** A pod filter value: `namespace/prefix`, `namespace/` or a bare prefix. */
export const podValue = z
  .string()
  .regex(/^[A-Za-z0-9_.-]*(\/[A-Za-z0-9_.-]*)?$/, 'expected [namespace/]pod-name-prefix')
  .transform((v): PodMatch => {
    const i = v.indexOf('/');
    return i >= 0 ? { namespace: v.slice(0, i), prefix: v.slice(i + 1) } : { prefix: v };
  });

/** Turns a `*` glob into a LIKE pattern (the only wildcard; `%`, `_` and `\` match themselves). */
export function globToLike(glob: string): string {
  return glob.replace(/[\\%_]/g, (c) => `\\${c}`).replace(/\*/g, '%');
}

/** A node name or `*` glob (`cluster/node-*`). */
export const nodeValue = z
  .string()
  .regex(/^[A-Za-z0-9_.:*/-]{1,253}$/, 'expected a node name or * glob')
  .transform(globToLike);

/** A DNS name or `*` glob (`*.example.com`), case-insensitive, trailing dot optional. */
export const fqdnValue = z
  .string()
  .regex(/^[A-Za-z0-9_.*-]{1,253}$/, 'expected a DNS name or * glob')
  .transform((v) => globToLike(v.toLowerCase().replace(/\.$/, '')));

/** A regular expression (RE2 in ClickHouse; checked here so a bad one is a 400). */
export const regexValue = z
  .string()
  .max(256, 'expected a regular expression of at most 256 characters')
  .superRefine((v, ctx) => {
    try {
      new RegExp(v);
    } catch {
      ctx.addIssue({ code: 'custom', message: bad('a valid regular expression')(v) });
    }
    if (/\(\?[=!<]|\\[1-9]/.test(v)) {
      ctx.addIssue({ code: 'custom', message: 'lookaround and back-references are not supported (RE2)' });
    }
  });

/** An HTTP status: `404`, or a prefix with `+` such as `5+` or `40+`. */
export const httpStatusValue = z
  .string()
  // An unencoded `5+` in a query string arrives as "5 ".
  .transform((v) => v.replace(/ $/, '+'))
  .pipe(z.string().regex(/^(\d{3}|\d{1,2}\+)$/, 'expected an HTTP status code (404) or a prefix like 5+'))
  .transform((v) => (v.endsWith('+') ? { prefix: v.slice(0, -1) } : { code: Number(v) }));

/** An HTTP method. */
export const httpMethodValue = z
  .string()
  .regex(/^[A-Za-z]{1,16}$/, 'expected an HTTP method such as GET')
  .transform((v) => v.toUpperCase());

/** A tenant, account, job, namespace or allocation name: bound as a parameter, so any text is safe. */
export const nameValue = z
  .string()
  .min(1, 'expected a non-empty value')
  .max(256, 'expected at most 256 characters')
  .refine((v) => ![...v].some((c) => c.charCodeAt(0) < 0x20), 'control characters are not allowed');

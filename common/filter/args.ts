/**
 * @module Filter words → FlowFilters, the one place that reads them: `hubble observe` flags as the stock
 * CLI turns them into a GetFlowsRequest's whitelist and blacklist (cilium hubble/cmd/observe/
 * flows_filter.go: "either end" flags split into a source-side and a destination-side filter, namespaces
 * applied to pod/service filters at the end, `--not` sending the next flag to the blacklist, conflicting
 * flags refused), plus Flowtrail's owner filters (tenant, account, job, alloc, scope, and their from-/to-
 * forms for one end), which select on attribution and are ANDed with the Hubble part. `GET /api/v1/flows` parameters and `flowtrail flows`
 * flags are these same words (filterSetFromParams, filterSetFromArgs).
 */

import { DropReason, type FlowFilter, TCPFlags, Verdict, type Workload } from '../../proto/gen/flow/flow.js';
import { addressScopes } from '../flow/attribution.ts';
import { FlowFilterError } from './errors.ts';
import { flowFilter } from './flow-filter.ts';
import { parseFlowFilter } from './parse.ts';
import {
  AGENT_SUB_TYPES,
  EVENT_TYPES,
  FILTER_ALIASES,
  FILTER_WORDS,
  type FilterWord,
  type FilterWordName,
  RESERVED_IDENTITIES,
  TCP_FLAG_BITS,
  TRACE_SUB_TYPES,
} from './vocabulary.ts';

/** Owner filters on one end: each ORs its values; different ones are ANDed. */
export interface EndOwnerFilters {
  tenant?: string[];
  account?: string[];
  job?: string[];
  /** Allocation ids, id prefixes (8+ characters) or allocation names. */
  alloc?: string[];
  /** Address scopes (see common/flow/attribution.ts addressScopes). */
  scope?: string[];
}

/**
 * Flowtrail's attribution filters: `tenant`, `account`… each ORs its values over either end;
 * `source`/`destination` (the `from-`/`to-` words) hold them for one end; all are ANDed.
 */
export interface OwnerFilters extends EndOwnerFilters {
  source?: EndOwnerFilters;
  destination?: EndOwnerFilters;
  /** true: an end's labels and ownership disagreed (`attribution_conflict`); false: they did not. */
  attributionConflict?: boolean[];
  /**
   * Owners to leave out (`--not --tenant x`, `not-tenant=x`, `not-from-account=y`): a flow is
   * dropped when the end(s) the word looks at match any value of it; several words each drop their flows.
   */
  exclude?: Omit<OwnerFilters, 'exclude' | 'attributionConflict'>;
}

/** A complete filter: Hubble's whitelist/blacklist plus Flowtrail's owner filters. */
export interface FlowFilterSet {
  whitelist: FlowFilter[];
  blacklist: FlowFilter[];
  owner: OwnerFilters;
}

const isWord = (n: string): n is FilterWordName => Object.hasOwn(FILTER_WORDS, n);

/** The words that select on attribution rather than on the Hubble flow (`from-`/`to-` for one end). */
const OWNER_WORDS = ['tenant', 'account', 'job', 'alloc', 'scope'] as const;
type OwnerWord = (typeof OWNER_WORDS)[number];

/** The owner word and end of a word: `from-account` → source account; `account` → either end. */
function ownerWord(name: string): { key: OwnerWord; end?: 'source' | 'destination' } | undefined {
  const m = /^(from-|to-)?(.*)$/.exec(name);
  const key = m?.[2] as OwnerWord;
  if (!m || !(OWNER_WORDS as readonly string[]).includes(key)) return undefined;
  return m[1] ? { key, end: m[1] === 'from-' ? 'source' : 'destination' } : { key };
}

/** Flags that cannot be combined in one list (the CLI's conflict groups). */
const CONFLICTS: readonly (readonly string[])[] = [
  [
    'from-fqdn',
    'from-ip',
    'ip',
    'fqdn',
    'from-namespace',
    'namespace',
    'from-all-namespaces',
    'all-namespaces',
  ],
  ['from-fqdn', 'from-ip', 'ip', 'fqdn', 'from-pod', 'pod'],
  ['to-fqdn', 'to-ip', 'ip', 'fqdn', 'to-namespace', 'namespace', 'to-all-namespaces', 'all-namespaces'],
  ['to-fqdn', 'to-ip', 'ip', 'fqdn', 'to-pod', 'pod'],
  ['to-pod', 'namespace', 'all-namespaces'],
  ['from-pod', 'namespace', 'all-namespaces'],
  ['to-service', 'namespace', 'all-namespaces'],
  ['from-service', 'namespace', 'all-namespaces'],
  ['label', 'from-label'],
  ['label', 'to-label'],
  ['service', 'from-service'],
  ['service', 'to-service'],
  ['port', 'to-port'],
  ['port', 'from-port'],
  ['identity', 'to-identity'],
  ['identity', 'from-identity'],
  ['workload', 'to-workload'],
  ['workload', 'from-workload'],
  ['encrypted', 'unencrypted'],
];

type Update = (f: FlowFilter) => void;

/** One list (whitelist or blacklist) being built: `left OR right`, as the CLI's filterTracker. */
class Tracker {
  left: FlowFilter | undefined;
  right: FlowFilter | undefined;
  ns: string[] = [];
  srcNs: string[] = [];
  dstNs: string[] = [];
  changed: string[] = [];

  applyLeft(u: Update): void {
    this.left ??= flowFilter();
    u(this.left);
  }
  applyRight(u: Update): void {
    this.right ??= flowFilter();
    u(this.right);
  }
  apply(u: Update): void {
    this.applyLeft(u);
    this.applyRight(u);
  }
  /** Source-side update on the left, destination-side on the right ("either end"). */
  either(src: Update, dst: Update): void {
    this.applyLeft(src);
    this.applyRight(dst);
  }

  filters(): FlowFilter[] {
    if (!this.left && !this.right && !this.ns.length && !this.srcNs.length && !this.dstNs.length) return [];
    this.left ??= flowFilter();
    this.right ??= flowFilter();
    const { left, right } = this;
    if (this.dstNs.length) for (const f of [left, right]) applyDest(f, this.dstNs);
    if (this.srcNs.length) for (const f of [left, right]) applySrc(f, this.srcNs);
    if (this.ns.length) {
      applySrc(left, this.ns);
      applyDest(right, this.ns);
    }
    return same(left, right) ? [left] : [left, right];
  }
}

function addNamespaces(filter: string[], ns: readonly string[]): string[] {
  if (!ns.length || !filter.length) return filter;
  return filter.flatMap((v) => (v.includes('/') ? [v] : ns.map((n) => `${n}/${v}`)));
}

function applySrc(f: FlowFilter, ns: readonly string[]): void {
  if (!f.source_pod.length && !f.source_service.length) f.source_pod = [''];
  f.source_pod = addNamespaces(f.source_pod, ns);
  f.source_service = addNamespaces(f.source_service, ns);
}

function applyDest(f: FlowFilter, ns: readonly string[]): void {
  if (!f.destination_pod.length && !f.destination_service.length) f.destination_pod = [''];
  f.destination_pod = addNamespaces(f.destination_pod, ns);
  f.destination_service = addNamespaces(f.destination_service, ns);
}

const canonical = (f: FlowFilter) => JSON.stringify(f, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
const same = (a: FlowFilter, b: FlowFilter) => canonical(a) === canonical(b);

function parseIdentity(name: string, v: string): number {
  const t = v.trim().toLowerCase();
  const n = /^\d{1,10}$/.test(t) ? Number(t) : RESERVED_IDENTITIES[t.replace(/^reserved:/, '')];
  if (n === undefined || n > 0xffffffff) {
    throw new FlowFilterError(
      name,
      `invalid security identity "${v}", expected one of ${Object.keys(RESERVED_IDENTITIES).join(', ')} or a number`,
    );
  }
  return n;
}

function parseWorkload(v: string): Workload {
  const i = v.indexOf('/');
  return i >= 0 ? { kind: v.slice(0, i), name: v.slice(i + 1) } : { kind: '', name: v };
}

function parseEventType(v: string): { type: number; sub_type: number; match_sub_type: boolean } {
  const [t = '', sub] = v.split(/:(.*)/s, 2) as [string, string | undefined];
  const named = EVENT_TYPES[t];
  const type = named ?? (/^\d{1,10}$/.test(t) ? Number(t) : Number.NaN);
  if (!Number.isInteger(type) || type > 0x7fffffff) {
    throw new FlowFilterError(
      'type',
      `unable to parse type "${t}": not one of ${Object.keys(EVENT_TYPES).join(', ')} or a number`,
    );
  }
  if (sub === undefined || sub === '') return { type, sub_type: 0, match_sub_type: false };
  const names =
    type === EVENT_TYPES['trace'] ? TRACE_SUB_TYPES : type === EVENT_TYPES['agent'] ? AGENT_SUB_TYPES : {};
  const s = names[sub] ?? (/^\d{1,10}$/.test(sub) ? Number(sub) : undefined);
  if (s === undefined || s > 0x7fffffff)
    throw new FlowFilterError('type', `unable to parse event sub-type "${sub}"`);
  return { type, sub_type: s, match_sub_type: true };
}

function parseTcpFlags(v: string): TCPFlags {
  const flags = TCPFlags.fromPartial({});
  for (const f of v.split(',')) {
    const n = f.toUpperCase();
    if (!Object.hasOwn(TCP_FLAG_BITS, n)) throw new FlowFilterError('tcp-flags', `unknown tcp flag: ${f}`);
    flags[n as keyof TCPFlags] = true;
  }
  return flags;
}

const verdictByName = new Map(
  Object.entries(Verdict)
    .filter(([, n]) => typeof n === 'number' && n > 0)
    .map(([k, n]) => [k.toUpperCase(), n as number]),
);

function parseDropReason(v: string): number {
  const t = v.trim().toUpperCase();
  if (/^\d{1,5}$/.test(t)) return Number(t);
  const n = (DropReason as unknown as Record<string, number>)[t];
  if (typeof n !== 'number' || t === '')
    throw new FlowFilterError('drop-reason-desc', `invalid value "${v}"`);
  return n;
}

function ownerValue(name: string, v: string): string {
  if (v.length === 0 || v.length > 256 || [...v].some((c) => c.charCodeAt(0) < 0x20)) {
    throw new FlowFilterError(name, 'expected 1 to 256 characters without control characters');
  }
  if (ownerWord(name)?.key === 'scope' && !(addressScopes as readonly string[]).includes(v)) {
    throw new FlowFilterError(name, `expected one of ${addressScopes.join(', ')}, got "${v.slice(0, 80)}"`);
  }
  return v;
}

/**
 * The words with an "either end" form and from-/to- forms for one end (`ip`, `from-ip`, `to-ip`): the
 * FlowFilter field of each end, and how a value reads when it is not kept as text.
 */
interface SidedWord {
  source: keyof FlowFilter;
  destination: keyof FlowFilter;
  value?: (name: string, v: string) => unknown;
}
const SIDED: Readonly<Record<string, SidedWord>> = {
  fqdn: { source: 'source_fqdn', destination: 'destination_fqdn' },
  pod: { source: 'source_pod', destination: 'destination_pod' },
  ip: { source: 'source_ip', destination: 'destination_ip' },
  label: { source: 'source_label', destination: 'destination_label' },
  service: { source: 'source_service', destination: 'destination_service' },
  port: { source: 'source_port', destination: 'destination_port' },
  cluster: { source: 'source_cluster_name', destination: 'destination_cluster_name' },
  workload: {
    source: 'source_workload',
    destination: 'destination_workload',
    value: (_n, v) => parseWorkload(v),
  },
  identity: { source: 'source_identity', destination: 'destination_identity', value: parseIdentity },
};

/** Applies one word to a list, as the CLI's flowFilter.set does. */
function setWord(t: Tracker, name: FilterWordName, v: string): void {
  if (!t.changed.includes(name)) t.changed.push(name);
  for (const group of CONFLICTS) {
    if (!group.includes(name)) continue;
    const other = group.find((g) => g !== name && t.changed.includes(g));
    if (other) throw new FlowFilterError(name, `filters --${name} and --${other} cannot be combined`);
  }
  const push =
    <K extends keyof FlowFilter>(k: K, x: FlowFilter[K] extends (infer E)[] ? E : never) =>
    (f: FlowFilter) => {
      (f[k] as unknown[]).push(x);
    };
  const [, end, base = ''] = /^(from-|to-)?(.*)$/s.exec(name) ?? [];
  const sided = Object.hasOwn(SIDED, base) ? SIDED[base] : undefined;
  if (sided) {
    const x = sided.value ? sided.value(name, v) : v;
    const src = (f: FlowFilter) => (f[sided.source] as unknown[]).push(x);
    const dst = (f: FlowFilter) => (f[sided.destination] as unknown[]).push(x);
    if (end === undefined) t.either(src, dst);
    else t.apply(end === 'from-' ? src : dst);
    return;
  }
  switch (name) {
    case 'uuid':
      t.apply(push('uuid', v));
      return;
    case 'snat-ip':
      t.apply(push('source_ip_xlated', v));
      return;
    case 'ipv4':
      t.apply(push('ip_version', 1));
      return;
    case 'ipv6':
      t.apply(push('ip_version', 2));
      return;
    case 'ip-version': {
      const x = v.toLowerCase();
      const ver = ['4', 'v4', 'ipv4', 'ip4'].includes(x) ? 1 : ['6', 'v6', 'ipv6', 'ip6'].includes(x) ? 2 : 0;
      t.apply(push('ip_version', ver));
      return;
    }
    case 'namespace':
      t.ns.push(v);
      return;
    case 'from-namespace':
      t.srcNs.push(v);
      return;
    case 'to-namespace':
      t.dstNs.push(v);
      return;
    case 'all-namespaces':
      t.ns.push('');
      return;
    case 'from-all-namespaces':
      t.srcNs.push('');
      return;
    case 'to-all-namespaces':
      t.dstNs.push('');
      return;
    case 'trace-id':
      t.apply(push('trace_id', v));
      return;
    case 'verdict': {
      const n = verdictByName.get(v.trim().toUpperCase());
      if (n === undefined) throw new FlowFilterError('verdict', `invalid --verdict value: ${v}`);
      t.apply(push('verdict', n as Verdict));
      return;
    }
    case 'drop-reason-desc':
      t.apply(push('drop_reason_desc', parseDropReason(v) as DropReason));
      return;
    // An unencoded `5+` in a query string arrives as "5 ".
    case 'http-status':
      t.apply(push('http_status_code', v.replace(/ $/, '+')));
      return;
    case 'http-method':
      t.apply(push('http_method', v));
      return;
    case 'http-path':
      t.apply(push('http_path', v));
      return;
    case 'http-url':
      t.apply(push('http_url', v));
      return;
    case 'http-header': {
      const i = v.indexOf(':');
      if (i < 0) throw new FlowFilterError('http-header', `invalid value "${v}", expected name:value`);
      t.apply(push('http_header', { key: v.slice(0, i), value: v.slice(i + 1) }));
      return;
    }
    case 'type':
      t.apply(push('event_type', parseEventType(v)));
      return;
    case 'protocol':
      t.apply(push('protocol', v));
      return;
    case 'node-name':
      t.apply(push('node_name', v));
      return;
    case 'node-label':
      t.apply(push('node_labels', v));
      return;
    case 'tcp-flags':
      t.apply(push('tcp_flags', parseTcpFlags(v)));
      return;
    case 'traffic-direction': {
      const d = v.toLowerCase();
      if (d !== 'ingress' && d !== 'egress')
        throw new FlowFilterError(
          'traffic-direction',
          `${d}: invalid traffic direction, expected ingress or egress`,
        );
      t.apply(push('traffic_direction', d === 'ingress' ? 1 : 2));
      return;
    }
    case 'interface':
      t.apply(push('interface', { index: 0, name: v }));
      return;
    case 'encrypted':
      t.apply(push('encrypted', true));
      return;
    case 'unencrypted':
      t.apply(push('encrypted', false));
      return;
    case 'dns-query':
      t.apply(push('dns_query', v));
      return;
    case 'tenant':
    case 'account':
    case 'job':
    case 'alloc':
    case 'scope':
    case 'from-tenant':
    case 'to-tenant':
    case 'from-account':
    case 'to-account':
    case 'from-job':
    case 'to-job':
    case 'from-alloc':
    case 'to-alloc':
    case 'from-scope':
    case 'to-scope':
    case 'attribution-conflict':
      throw new Error('owner words are handled by the builder');
  }
}

/** Builds a FlowFilterSet word by word, in order (`--not` applies to the next word only). */
export class FilterSetBuilder {
  readonly #white = new Tracker();
  readonly #black = new Tracker();
  readonly #owner: OwnerFilters = {};
  #not = false;
  #count = 0;

  /** `--not`: the next word goes to the blacklist. */
  not(): void {
    if (this.#not) throw new FlowFilterError('not', 'consecutive --not statements');
    this.#not = true;
  }

  /** Adds one word with its value ('' for switches); aliases are accepted. */
  add(word: string, value: string): void {
    const name = FILTER_ALIASES[word] ?? word;
    if (!isWord(name)) throw new FlowFilterError(word.slice(0, 64), 'unknown filter');
    if (++this.#count > 1000) throw new FlowFilterError(name, 'at most 1000 filter values');
    const blacklisting = this.#not;
    this.#not = false;
    if (name === 'attribution-conflict') {
      if (blacklisting) throw new FlowFilterError(name, `--not is not supported with --${name}`);
      if (value !== 'true' && value !== 'false') throw new FlowFilterError(name, 'expected true or false');
      this.#owner.attributionConflict = [...(this.#owner.attributionConflict ?? []), value === 'true'];
      return;
    }
    const owner = ownerWord(name);
    if (owner) {
      // Negated: the same filter under `exclude` (the flows it selects are left out).
      if (blacklisting) this.#owner.exclude ??= {};
      const base: OwnerFilters = blacklisting ? (this.#owner.exclude ?? {}) : this.#owner;
      if (owner.end && !base[owner.end]) base[owner.end] = {};
      const into = (owner.end ? base[owner.end] : base) as EndOwnerFilters;
      into[owner.key] = [...(into[owner.key] ?? []), ownerValue(name, value)];
      return;
    }
    // Each value is parsed on its own first, so an error names the word the user typed.
    const probe = new Tracker();
    setWord(probe, name, value);
    try {
      for (const f of [probe.left, probe.right]) if (f) parseFlowFilter(f);
    } catch (err) {
      if (!(err instanceof FlowFilterError)) throw err;
      throw new FlowFilterError(name, err.message.replace(/^invalid flow filter: [a-z_.]+: /, ''));
    }
    setWord(blacklisting ? this.#black : this.#white, name, value);
  }

  build(): FlowFilterSet {
    if (this.#not) throw new FlowFilterError('not', '--not must be followed by a filter');
    const copy = (o: OwnerFilters): OwnerFilters => ({
      ...o,
      ...(o.source ? { source: { ...o.source } } : {}),
      ...(o.destination ? { destination: { ...o.destination } } : {}),
    });
    const owner = copy(this.#owner);
    if (owner.exclude) owner.exclude = copy(owner.exclude);
    return { whitelist: this.#white.filters(), blacklist: this.#black.filters(), owner };
  }
}

/**
 * Reads `hubble observe`-style arguments (`--verdict DROPPED --not --protocol http`, `--ip=10.0.0.1`,
 * `--encrypted`) into a filter set. Words outside the filter vocabulary are returned in `rest`
 * (in order, with their values when given as `--x=v`), for the caller's own options.
 */
export function filterSetFromArgs(
  args: readonly string[],
  opts: { passThrough?: ReadonlySet<string> } = {},
): { set: FlowFilterSet; rest: string[] } {
  const b = new FilterSetBuilder();
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const m = /^--?([a-z][a-z0-9-]*)(?:=(.*))?$/s.exec(a);
    const word = m?.[1] === 't' ? 'type' : m?.[1];
    if (!m || word === undefined || opts.passThrough?.has(word)) {
      rest.push(a);
      continue;
    }
    if (word === 'not') {
      b.not();
      continue;
    }
    const name = FILTER_ALIASES[word] ?? word;
    if (!isWord(name)) {
      rest.push(a);
      continue;
    }
    if ((FILTER_WORDS[name] as FilterWord).flag) {
      if (m[2] !== undefined) throw new FlowFilterError(name, 'takes no value');
      b.add(name, '');
      continue;
    }
    const value = m[2] ?? args[++i];
    if (value === undefined) throw new FlowFilterError(name, 'needs a value');
    b.add(name, value);
  }
  return { set: b.build(), rest };
}

/** Query parameters as express or a CLI parser hands them over. */
export type RawParams = Record<string, string | string[] | undefined>;

/** True when `name` is a filter parameter of filterSetFromParams (a word, an alias or `not-<word>`). */
export function isFilterParam(name: string): boolean {
  const base = name.startsWith('not-') ? name.slice(4) : name;
  return isWord(FILTER_ALIASES[base] ?? base);
}

/**
 * Reads REST query parameters: every filter word is a parameter of the same name (repeat it to OR
 * values), switches take `true` (or no value), and `not-<word>=v` is `--not --<word> v` (for an
 * owner word: leave that owner's flows out). Other parameters are left to the caller.
 */
export function filterSetFromParams(params: RawParams): FlowFilterSet {
  const b = new FilterSetBuilder();
  const values = (k: string): string[] => {
    const x = params[k];
    if (x === undefined) return [];
    const list = Array.isArray(x) ? x : [x];
    // A nested object (qs `a[b]=c`) must not silently drop a filter and widen the answer.
    if (list.some((s) => typeof s !== 'string')) throw new FlowFilterError(k, 'expected plain values');
    if (list.length > 100) throw new FlowFilterError(k, 'at most 100 values');
    return list;
  };
  const keys = Object.keys(params).filter(isFilterParam);
  // Positive words first, then negations: the order of query parameters carries no meaning.
  for (const negated of [false, true]) {
    for (const k of keys) {
      if (k.startsWith('not-') !== negated) continue;
      const word = negated ? k.slice(4) : k;
      const name = FILTER_ALIASES[word] ?? (word as FilterWordName);
      for (const x of values(k)) {
        if (negated) b.not();
        if ((FILTER_WORDS[name] as FilterWord).flag) {
          if (x !== '' && x !== 'true') throw new FlowFilterError(k, 'expected true or no value');
        }
        b.add(name, (FILTER_WORDS[name] as FilterWord).flag ? '' : x);
      }
    }
  }
  return b.build();
}

/**
 * @module The string patterns of Hubble's filters, parsed once into typed values: `[namespace/][name-prefix]`
 * for pods and services, FQDN globs, `[cluster/]node` globs and HTTP status codes and prefixes. Globs
 * become RE2 expressions (the same text runs in memory through re2js and in ClickHouse's `match()`).
 */
import { FlowFilterError } from './errors.ts';
import { compileRe2, type Re2 } from './regex.ts';

/** Hubble's default cluster name, assumed for node names without a `cluster/` part. */
export const DEFAULT_CLUSTER_NAME = 'default';

/** A `[namespace/][prefix]` value: `prefix` empty means every name in the namespace. */
export interface NamespacedName {
  readonly ns: string;
  readonly prefix: string;
}

/**
 * Parses `[namespace/][prefix]` values (Cilium's ParseNamespaceName): `ns/` is every name in the
 * namespace, `ns/web` names starting with `web`, a bare `web` means `default/web`.
 */
export function parseNamespacedNames(field: string, values: readonly string[]): NamespacedName[] {
  return values.map((v) => {
    const parts = v.split('/');
    const first = parts[0] ?? '';
    if (parts.length > 1) return { ns: first, prefix: parts[1] ?? '' };
    if (first === '') throw new FlowFilterError(field, `must be [namespace/][<name>], got "${v}"`);
    return { ns: 'default', prefix: first };
  });
}

/** True when (ns, name) matches any value; an endpoint with neither never matches. */
export function namespacedNameMatches(values: readonly NamespacedName[], ns: string, name: string): boolean {
  if (ns === '' && name === '') return false;
  for (const f of values) if (f.ns === ns && (f.prefix === '' || name.startsWith(f.prefix))) return true;
  return false;
}

/** Compiles `[namespace/][prefix]` values into a predicate over (namespace, name). */
export function compileNamespacedNames(
  field: string,
  values: readonly string[],
): (ns: string, name: string) => boolean {
  const parsed = parseNamespacedNames(field, values);
  return (ns, name) => namespacedNameMatches(parsed, ns, name);
}

/**
 * FQDN globs (`*.example.com`, `api.github.com`) as one anchored RE2 expression, as Hubble builds it:
 * lowercase, `*` matches within one label (it never crosses a dot).
 */
export function parseFqdnPatterns(field: string, values: readonly string[]): Re2 {
  const parts = values.map((raw) => {
    const p = raw.trim().toLowerCase();
    if (p === '') throw new FlowFilterError(field, 'empty FQDN pattern');
    if (!/^[-a-z0-9_.*]+$/.test(p))
      throw new FlowFilterError(field, `"${raw}": only letters, digits, "-", "_", "." and "*" allowed`);
    return p.replace(/\./g, '[.]').replace(/\*/g, '[-a-zA-Z0-9_]*');
  });
  return compileRe2(field, `^(?:${parts.join('|')})$`);
}

/** An FQDN (underscores allowed): what an empty cluster or node element of a node pattern matches. */
const FQDN_RE = '(?:[-0-9_a-z]+(?:\\.[-0-9_a-z]+)*)';

/** One element of a node-name pattern (Cilium's appendFQDNPatternRegexp): `*` may cross dots here. */
function fqdnElement(field: string, raw: string): string {
  let p = raw.trim().toLowerCase();
  if (p.endsWith('.')) p = p.slice(0, -1);
  if (p === '') throw new FlowFilterError(field, `"${raw}": empty pattern`);
  if (p.endsWith('.')) throw new FlowFilterError(field, `"${raw}": multiple trailing dots in pattern`);
  let out = '';
  for (const c of p) {
    if (c === '.') out += '\\.';
    else if (c === '*') out += '[-.0-9a-z]*';
    else if (/[-0-9_a-z]/.test(c)) out += c;
    else throw new FlowFilterError(field, `"${raw}": invalid character "${c}" in pattern`);
  }
  return out;
}

/**
 * Node-name patterns the way Hubble reads them (cilium pkg/hubble/filters/pattern.go): each is
 * `[cluster/]node`, both parts FQDN globs, an empty part matching any name; without a slash the pattern
 * matches the node in every cluster. Flow node names without `cluster/` are in the `default` cluster
 * (see qualifiedNodeName). One anchored RE2 expression over the qualified name.
 */
export function parseNodeNamePatterns(field: string, values: readonly string[]): Re2 {
  const alts = values.map((v) => {
    if (v === '') throw new FlowFilterError(field, 'empty pattern');
    const parts = v.split('/');
    if (parts.length > 2) throw new FlowFilterError(field, `"${v}": too many slashes in pattern`);
    const [cluster, node] = parts.length === 2 ? [parts[0]!, parts[1]!] : ['', parts[0]!];
    const el = (x: string) => (x === '' ? FQDN_RE : fqdnElement(field, x));
    return `${el(cluster)}/${el(node)}`;
  });
  return compileRe2(field, `^(?:${alts.join('|')})$`);
}

/** A flow's node name with the cluster made explicit (`default/` when it has none). */
export function qualifiedNodeName(nodeName: string): string {
  return nodeName.includes('/') ? nodeName : `${DEFAULT_CLUSTER_NAME}/${nodeName}`;
}

/** HTTP status filters: full codes and leading-digit prefixes (`5+` → "5"). */
export interface HttpStatusFilter {
  readonly codes: readonly number[];
  readonly prefixes: readonly string[];
}

/** Parses `404`, `5+`, `40+` as Hubble does; anything else (600, 5xx) is refused. */
export function parseHttpStatus(field: string, values: readonly string[]): HttpStatusFilter {
  const codes: number[] = [];
  const prefixes: string[] = [];
  for (const v of values) {
    if (/^[1-5][0-9]{2}$/.test(v)) codes.push(Number(v));
    else if (/^[1-5][0-9]?\+$/.test(v)) prefixes.push(v.slice(0, -1));
    else throw new FlowFilterError(field, `invalid status code prefix: "${v}" (want e.g. 404, 5+ or 40+)`);
  }
  return { codes, prefixes };
}

/** True when a flow's status code matches; a flow without a code never does. */
export function httpStatusMatches(f: HttpStatusFilter, code: number): boolean {
  if (!code) return false;
  if (f.codes.includes(code)) return true;
  const s = String(code).padStart(3, '0');
  return f.prefixes.some((p) => s.startsWith(p));
}

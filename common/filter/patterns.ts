/**
 * @module The string patterns of Hubble's filters, compiled once: `[namespace/][name-prefix]` for pods
 * and services, FQDN globs, `[cluster/]node` globs, HTTP status codes and prefixes, and RE2-style regular
 * expressions (Go's regexp; we run them with JavaScript's engine, accepting a leading `(?i)`).
 */
import { FlowFilterError } from './errors.ts';

/** Hubble's default cluster name, assumed for node names without a `cluster/` part. */
export const DEFAULT_CLUSTER_NAME = 'default';

/**
 * Compiles `[namespace/][prefix]` values (Cilium's ParseNamespaceName): `ns/` matches every name in the
 * namespace, `ns/web` names starting with `web`, a bare `web` means `default/web`. An endpoint with
 * neither namespace nor name never matches.
 */
export function compileNamespacedNames(
  field: string,
  values: readonly string[],
): (ns: string, name: string) => boolean {
  const filters = values.map((v) => {
    const parts = v.split('/');
    const first = parts[0] ?? '';
    if (parts.length > 1) return { ns: first, prefix: parts[1] ?? '' };
    if (first === '') throw new FlowFilterError(field, `must be [namespace/][<name>], got "${v}"`);
    return { ns: 'default', prefix: first };
  });
  return (ns, name) => {
    if (ns === '' && name === '') return false;
    for (const f of filters) {
      if (f.ns === ns && (f.prefix === '' || name.startsWith(f.prefix))) return true;
    }
    return false;
  };
}

/** Compiles FQDN globs (`*.example.com`, `api.github.com`) into one anchored, lowercase pattern. */
export function compileFqdnPatterns(field: string, values: readonly string[]): RegExp {
  const parts = values.map((raw) => {
    const p = raw.trim().toLowerCase();
    if (p === '') throw new FlowFilterError(field, 'empty FQDN pattern');
    if (!/^[-a-z0-9_.*]+$/.test(p))
      throw new FlowFilterError(field, `"${raw}": only letters, digits, "-", "_", "." and "*" allowed`);
    return p.replace(/\./g, '[.]').replace(/\*/g, '[-a-zA-Z0-9_]*');
  });
  return new RegExp(`^(?:${parts.join('|')})$`);
}

function clusterPattern(field: string, p: string): string {
  let out = '';
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === '.') out += '\\.';
    else if (c === '*') out += '[-0-9a-z]*';
    else if (c === '-' && i === 0)
      throw new FlowFilterError(field, `"${p}": cluster pattern cannot start with "-"`);
    else if (c === '-') out += '-';
    else if (/[0-9a-z]/.test(c)) out += c;
    else throw new FlowFilterError(field, `"${p}": invalid character "${c}" in cluster name pattern`);
  }
  return out;
}

function nodePattern(field: string, p: string): string {
  let out = '';
  for (const c of p) {
    if (c === '.') out += '\\.';
    else if (c === '*') out += '[-.0-9a-z]*';
    else if (c === '-') out += '-';
    else if (/[0-9a-z]/.test(c)) out += c;
    else throw new FlowFilterError(field, `"${p}": invalid character "${c}" in node name pattern`);
  }
  return out;
}

/**
 * Compiles node-name patterns the way Hubble does: each is `[cluster/]node` with `*` globs; a pattern
 * without a cluster means the `default` cluster, and so does a flow node name without `cluster/`.
 */
export function compileNodeNamePatterns(
  field: string,
  values: readonly string[],
): (nodeName: string) => boolean {
  const alts = values.map((v) => {
    if (v === '') throw new FlowFilterError(field, 'empty pattern');
    const slash = v.indexOf('/');
    const cluster = slash >= 0 ? v.slice(0, slash) : DEFAULT_CLUSTER_NAME;
    const node = slash >= 0 ? v.slice(slash + 1) : v;
    return `${clusterPattern(field, cluster)}/${nodePattern(field, node)}`;
  });
  const re = new RegExp(`^(?:${alts.join('|')})$`);
  return (nodeName) => {
    if (nodeName === '') return false;
    return re.test(nodeName.includes('/') ? nodeName : `${DEFAULT_CLUSTER_NAME}/${nodeName}`);
  };
}

/** Compiles HTTP status filters: full codes (`404`) or prefixes (`5+`, `40+`). A flow without a code never matches. */
export function compileHttpStatus(field: string, values: readonly string[]): (code: number) => boolean {
  const full: string[] = [];
  const prefixes: string[] = [];
  for (const v of values) {
    if (/^[1-5][0-9]{2}$/.test(v)) full.push(v);
    else if (/^[1-5][0-9]?\+$/.test(v)) prefixes.push(v.slice(0, -1));
    else throw new FlowFilterError(field, `invalid status code prefix: "${v}" (want e.g. 404, 5+ or 40+)`);
  }
  return (code) => {
    if (!code) return false;
    const s = String(code).padStart(3, '0');
    return full.includes(s) || prefixes.some((p) => s.startsWith(p));
  };
}

/** Longest pattern accepted from a caller. */
const MAX_PATTERN_LENGTH = 256;

/**
 * A quantified group that itself holds a quantifier or an alternation, e.g. `(a+)+` or `(a|aa)*`:
 * the shapes that make a backtracking engine take exponential time. RE2 (what Hubble uses) has no
 * such blow-up, but JavaScript's engine does, and these filters come from API callers and run on
 * the event loop, so they are refused rather than risked.
 */
const nestedQuantifier = /\((?:[^()\\]|\\.)*(?:[+*?}]|\|)(?:[^()\\]|\\.)*\)\s*(?:[+*]|\{\d+,?\d*\})/;

/** Compiles a Go (RE2) regular expression, unanchored like Go's MatchString. */
export function compileRegex(field: string, source: string): RegExp {
  if (source.length > MAX_PATTERN_LENGTH) {
    throw new FlowFilterError(field, `regular expression longer than ${MAX_PATTERN_LENGTH} characters`);
  }
  if (nestedQuantifier.test(source)) {
    throw new FlowFilterError(
      field,
      `regular expression "${source}" repeats a group that itself repeats or alternates; rewrite it without nested repetition`,
    );
  }
  let flags = '';
  let body = source;
  if (body.startsWith('(?i)')) {
    flags = 'i';
    body = body.slice(4);
  }
  try {
    return new RegExp(body, flags);
  } catch (err) {
    throw new FlowFilterError(field, `invalid regular expression "${source}": ${(err as Error).message}`);
  }
}

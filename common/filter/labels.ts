/**
 * @module Label selectors over Cilium labels, as Hubble's `source_label`/`destination_label` (and
 * `node_labels`) filters evaluate them: a Kubernetes label selector (comma = AND of requirements `key`,
 * `!key`, `key=v`, `key==v`, `key!=v`, `key in (a,b)`, `key notin (a,b)`) where a key may carry a Cilium
 * source prefix (`k8s:app=web`, `netreap:nomad.job_id=api`, `reserved:world`). A key without a source
 * matches labels of any source. Flow labels are `source:key=value` strings (value optional).
 */
import { FlowFilterError } from './errors.ts';

interface ParsedLabel {
  readonly source: string;
  readonly key: string;
  readonly value: string;
}

export type LabelOp = 'exists' | 'notexists' | 'in' | 'notin';

/** One requirement of a selector; `source` undefined matches labels of any source. */
export interface LabelRequirement {
  readonly source: string | undefined;
  readonly key: string;
  readonly op: LabelOp;
  readonly values: readonly string[];
}

/** A compiled selector: true when the label list satisfies every requirement. */
export type LabelMatcher = (labels: readonly string[]) => boolean;

const parsedCache = new WeakMap<readonly string[], readonly ParsedLabel[]>();

function parseLabels(labels: readonly string[], withSource: boolean): readonly ParsedLabel[] {
  let parsed = parsedCache.get(labels);
  if (parsed && withSource) return parsed;
  parsed = labels.map((l) => {
    let rest = l;
    let source = '';
    if (withSource) {
      const colon = l.indexOf(':');
      const eq = l.indexOf('=');
      if (colon >= 0 && (eq < 0 || colon < eq)) {
        source = l.slice(0, colon);
        rest = l.slice(colon + 1);
      }
    }
    const eq = rest.indexOf('=');
    return eq >= 0
      ? { source, key: rest.slice(0, eq), value: rest.slice(eq + 1) }
      : { source, key: rest, value: '' };
  });
  if (withSource) parsedCache.set(labels, parsed);
  return parsed;
}

/** Splits on commas that are not inside parentheses. */
function splitRequirements(selector: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < selector.length; i++) {
    const c = selector[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(selector.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(selector.slice(start));
  return parts.map((p) => p.trim()).filter((p) => p.length > 0);
}

const KEY = '[A-Za-z0-9$][-A-Za-z0-9_./:$]*';
const VALUE = '[-A-Za-z0-9_./:]*';
const RE_EXISTS = new RegExp(`^(!)?\\s*(${KEY})$`);
const RE_EQ = new RegExp(`^(${KEY})\\s*(==|=|!=)\\s*(${VALUE})$`);
const RE_SET = new RegExp(`^(${KEY})\\s+(in|notin)\\s*\\(([^)]*)\\)$`);

function splitKey(raw: string, withSource: boolean): { source: string | undefined; key: string } {
  if (!withSource) return { source: undefined, key: raw };
  const colon = raw.indexOf(':');
  if (colon < 0) return { source: undefined, key: raw };
  const source = raw.slice(0, colon);
  return { source: source === 'any' ? undefined : source, key: raw.slice(colon + 1) };
}

function parseRequirement(field: string, text: string, withSource: boolean): LabelRequirement {
  let m = RE_SET.exec(text);
  if (m) {
    const values = m[3]!
      .split(',')
      .map((v) => v.trim())
      .filter((v) => v.length > 0);
    return { ...splitKey(m[1]!, withSource), op: m[2] === 'in' ? 'in' : 'notin', values };
  }
  m = RE_EQ.exec(text);
  if (m) return { ...splitKey(m[1]!, withSource), op: m[2] === '!=' ? 'notin' : 'in', values: [m[3]!] };
  m = RE_EXISTS.exec(text);
  if (m) return { ...splitKey(m[2]!, withSource), op: m[1] ? 'notexists' : 'exists', values: [] };
  throw new FlowFilterError(field, `cannot parse label selector requirement "${text}"`);
}

/**
 * Parses one selector into its requirements (all must hold). `withSource` (flow endpoint labels)
 * understands `source:` prefixes; without it (node labels, plain `key=value`) keys are taken whole.
 */
export function parseLabelSelector(field: string, selector: string, withSource = true): LabelRequirement[] {
  return splitRequirements(selector).map((r) => parseRequirement(field, r, withSource));
}

/** True when the label list satisfies every requirement. */
export function labelsSatisfy(
  reqs: readonly LabelRequirement[],
  labels: readonly string[],
  withSource = true,
): boolean {
  const parsed = parseLabels(labels, withSource);
  // A requirement looks at every label with its key (several sources may carry one key), the same
  // reading the SQL form (sql.ts) gives it with arrayExists.
  for (const r of reqs) {
    const hit = (withValue: boolean) =>
      parsed.some(
        (l) =>
          l.key === r.key &&
          (r.source === undefined || l.source === r.source) &&
          (!withValue || r.values.includes(l.value)),
      );
    switch (r.op) {
      case 'exists':
        if (!hit(false)) return false;
        break;
      case 'notexists':
        if (hit(false)) return false;
        break;
      case 'in':
        if (!hit(true)) return false;
        break;
      case 'notin':
        if (hit(true)) return false;
        break;
    }
  }
  return true;
}

/** Compiles one selector (see parseLabelSelector) into a matcher. */
export function compileLabelSelector(field: string, selector: string, withSource = true): LabelMatcher {
  const reqs = parseLabelSelector(field, selector, withSource);
  return (labels) => labelsSatisfy(reqs, labels, withSource);
}

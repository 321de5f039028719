/**
 * Dashboard variables, Grafana-style: tenant, namespace and verdict live in the hash
 * (`#/overview?tenant=acme&verdict=DROPPED`), narrow every panel, and carry into every link to
 * the flows behind a number. They are ordinary flows filters, so the API applies them as such.
 * @module
 */
import { field, h } from '../dom.ts';

/** The variable names (flows filter names). */
export const dashVarNames = ['tenant', 'namespace', 'verdict'] as const;

/** The variables set in `params`, as API filters. */
export function varsOf(params: URLSearchParams): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of dashVarNames) {
    const v = params.get(k);
    if (v) out[k] = v;
  }
  return out;
}

const verdicts = ['FORWARDED', 'DROPPED', 'ERROR', 'AUDIT', 'REDIRECTED', 'TRACED', 'TRANSLATED'];

/**
 * The variables bar; `onChange` gets the new parameters. `fixed` names variables the page sets
 * itself (the tenant page's tenant), which are not offered.
 */
export function dashVars(
  params: URLSearchParams,
  onChange: (next: URLSearchParams) => void,
  fixed: readonly string[] = [],
): HTMLElement {
  const tenant = h('input', {
    type: 'text',
    name: 'tenant',
    value: params.get('tenant') ?? '',
    placeholder: 'any',
  });
  const namespace = h('input', {
    type: 'text',
    name: 'namespace',
    value: params.get('namespace') ?? '',
    placeholder: 'any',
  });
  const verdict = h(
    'select',
    { name: 'verdict' },
    h('option', { value: '' }, 'any'),
    ...verdicts.map((v) => h('option', { value: v, selected: params.get('verdict') === v }, v)),
  );
  const inputs: Record<string, HTMLInputElement | HTMLSelectElement> = { tenant, namespace, verdict };
  const form = h(
    'form',
    { class: 'dash-vars', 'aria-label': 'Dashboard variables' },
    fixed.includes('tenant') ? null : field('Tenant', tenant),
    fixed.includes('namespace') ? null : field('Namespace', namespace),
    fixed.includes('verdict') ? null : field('Verdict', verdict),
    h('button', { type: 'submit' }, 'Filter'),
  );
  const emit = () => {
    const next = new URLSearchParams(params);
    for (const k of dashVarNames) {
      if (fixed.includes(k)) continue;
      const v = inputs[k]!.value.trim();
      if (v) next.set(k, v);
      else next.delete(k);
    }
    onChange(next);
  };
  verdict.addEventListener('change', emit);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    emit();
  });
  return form;
}

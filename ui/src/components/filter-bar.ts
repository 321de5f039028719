/**
 * The flows filter bar, in Hubble's vocabulary (`verdict`, `from-ip`, `drop-reason`, `label`…,
 * plus Flowtrail's `tenant`, `account`, `job`, `alloc`, `scope`). Filters show as removable
 * chips; a value can be typed as `name=value`. When the API answers 400 it names the parameter,
 * and the bar puts the message next to that filter.
 * @module
 */
import { FILTER_ALIASES, FILTER_WORDS } from '../../../common/filter/vocabulary.ts';
import { field, h, replace, uid } from '../dom.ts';

/**
 * Filter names with a hint: the API's filter words and their older spellings, from the one table
 * (common/filter/vocabulary.ts), so the bar offers exactly what the API accepts.
 */
export const flowFilters: readonly (readonly [string, string])[] = [
  ...Object.entries(FILTER_WORDS).map(([name, w]) => [name, w.doc] as const),
  ...Object.entries(FILTER_ALIASES).map(([name, to]) => [name, `Older spelling of ${to}`] as const),
];

const filterNames = new Set(flowFilters.map(([n]) => n));

/** True when `name` is a flow filter, or its negation `not-<name>` (as opposed to since/until/limit/order/cursor). */
export function isFilterName(name: string): boolean {
  return filterNames.has(name.startsWith('not-') ? name.slice(4) : name);
}

/** True when the parameters ask for ascending order (`order=oldest`, or its synonym `asc`). */
export function ascending(params: URLSearchParams): boolean {
  const o = params.get('order');
  return o === 'oldest' || o === 'asc';
}

/** The filter bar's handle. */
export interface FilterBar {
  el: HTMLElement;
  /** Shows the API's message at the filter (or control) it names; null clears. */
  showError(param: string | undefined, message: string | null): void;
}

/** Options for the bar. */
export interface FilterBarOptions {
  params: URLSearchParams;
  /** Called with the full new parameter set when the user applies a change. */
  onApply: (next: URLSearchParams) => void;
  /** Show the since/until/rows/order form (default true; pages with a time picker hide it). */
  range?: boolean;
  /** Show since/until in that form (default true; false when the page has the shared time picker). */
  times?: boolean;
}

/** Builds the filter bar. */
export function filterBar(opts: FilterBarOptions): FilterBar {
  const current = new URLSearchParams(opts.params);
  current.delete('cursor');
  const chips = h('ul', { class: 'chips', 'aria-label': 'Active filters' });
  const errorBox = h('p', { class: 'field-error', role: 'alert', id: uid('err'), hidden: true });

  const apply = () => opts.onApply(new URLSearchParams(current));
  const drawChips = () => {
    const items = [...current.entries()].filter(([k]) => isFilterName(k));
    replace(
      chips,
      items.length === 0 ? h('li', { class: 'empty' }, 'No filters: every flow in the range') : null,
      ...items.map(([k, v]) => {
        const remove = h(
          'button',
          { type: 'button', class: 'chip-x', 'aria-label': `Remove filter ${k}=${v}` },
          '×',
        );
        remove.addEventListener('click', () => {
          const rest = current.getAll(k).filter((x) => x !== v);
          current.delete(k);
          for (const x of rest) current.append(k, x);
          apply();
        });
        return h('li', { class: 'chip', 'data-param': k }, h('code', {}, `${k}=${v}`), remove);
      }),
    );
  };
  drawChips();

  const nameSel = h(
    'select',
    { name: 'filter-name' },
    ...flowFilters.map(([n, hint]) => h('option', { value: n, title: hint }, n)),
  );
  const valueIn = h('input', {
    type: 'text',
    name: 'filter-value',
    placeholder: 'value, or name=value',
    autocomplete: 'off',
    spellcheck: 'false',
  });
  valueIn.id = uid('fv');
  const hint = h('small', { class: 'hint', id: uid('hint') });
  const setHint = () => {
    hint.textContent = flowFilters.find(([n]) => n === nameSel.value)?.[1] ?? '';
  };
  nameSel.addEventListener('change', setHint);
  setHint();
  valueIn.setAttribute('aria-describedby', `${hint.id} ${errorBox.id}`);
  const addBtn = h('button', { type: 'submit' }, 'Add filter');

  const sinceIn = h('input', {
    type: 'text',
    name: 'since',
    value: current.get('since') ?? '',
    placeholder: '-1h or 2024-05-01T10:00:00Z',
  });
  const untilIn = h('input', {
    type: 'text',
    name: 'until',
    value: current.get('until') ?? '',
    placeholder: 'now',
  });
  const limitSel = h(
    'select',
    { name: 'limit' },
    ...['100', '500', '1000', '5000'].map((v) =>
      h('option', { value: v, selected: (current.get('limit') ?? '500') === v }, v),
    ),
  );
  const orderSel = h(
    'select',
    { name: 'order' },
    // Descending is newest first when sorted by time (the API's default), largest first otherwise.
    h('option', { value: 'newest', selected: !ascending(current) }, 'Descending (newest first)'),
    h('option', { value: 'oldest', selected: ascending(current) }, 'Ascending (oldest first)'),
  );
  const times = opts.times !== false;
  const controls: Record<string, HTMLElement> = {
    ...(times ? { since: sinceIn, until: untilIn } : {}),
    limit: limitSel,
    order: orderSel,
  };

  const addForm = h(
    'form',
    { class: 'filter-add', 'aria-label': 'Add a filter' },
    field('Filter', nameSel),
    h('div', { class: 'field grow' }, h('label', { for: valueIn.id }, 'Value'), valueIn, hint),
    addBtn,
  );
  addForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    let name = nameSel.value;
    let value = valueIn.value.trim();
    const m = /^([a-z-]+)=(.*)$/.exec(value);
    if (m && isFilterName(m[1] ?? '')) {
      name = m[1] ?? name;
      value = m[2] ?? '';
    }
    if (!value) {
      showError(name, `${name}: enter a value`);
      valueIn.focus();
      return;
    }
    current.append(name, value);
    apply();
  });

  const rangeForm = h(
    'form',
    { class: 'filter-range', 'aria-label': 'Time range and paging' },
    times ? field('Since', sinceIn) : null,
    times ? field('Until', untilIn) : null,
    field('Rows per page', limitSel),
    field('Order', orderSel),
    h('button', { type: 'submit' }, 'Apply'),
  );
  rangeForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    for (const [k, c] of Object.entries(controls)) {
      const v = (c as HTMLInputElement | HTMLSelectElement).value.trim();
      if (v) current.set(k, v);
      else current.delete(k);
    }
    apply();
  });

  const showError = (param: string | undefined, message: string | null) => {
    for (const el of [valueIn, ...Object.values(controls)]) el.removeAttribute('aria-invalid');
    for (const c of chips.querySelectorAll('.chip')) c.classList.remove('invalid');
    errorBox.hidden = message === null;
    errorBox.textContent = message ?? '';
    if (message === null || !param) return;
    const control = controls[param];
    if (control) {
      control.setAttribute('aria-invalid', 'true');
      control.setAttribute('aria-describedby', errorBox.id);
      return;
    }
    const chip = chips.querySelector(`.chip[data-param="${CSS.escape(param)}"]`);
    if (chip) chip.classList.add('invalid');
    else valueIn.setAttribute('aria-invalid', 'true');
    if (isFilterName(param)) {
      nameSel.value = param;
      setHint();
    }
  };

  const el = h(
    'div',
    { class: 'filter-bar' },
    chips,
    addForm,
    opts.range === false ? null : rangeForm,
    errorBox,
  );
  return { el, showError };
}

/**
 * A tiny DOM builder: pages are plain functions that build elements, so the UI needs no
 * framework and the browser tests see ordinary, labelled HTML.
 * @module
 */

/** What h() accepts as a child: nodes, text, or nothing (skipped). */
export type Child = Node | string | number | null | undefined | false | Child[];

/** Attributes and event handlers for h(); `on…` keys with functions become listeners. */
export type Attrs = Record<string, string | number | boolean | null | undefined | ((ev: Event) => void)>;

/** Builds an element with attributes and children; false/null attributes are left out. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.slice(2).toLowerCase(), v);
    else if (k === 'class') el.className = String(v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

/** Appends children (flattening arrays, skipping empty values). */
export function append(parent: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(parent, c);
    else parent.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
  }
}

/** Replaces every child of `parent`. */
export function replace(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, children);
}

let idCounter = 0;
/** A unique element id, for label/control pairs. */
export function uid(prefix = 'ft'): string {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}

/** A labelled form control: the label is always bound to the control by id. */
export function field(label: string, control: HTMLElement, hint?: string): HTMLDivElement {
  if (!control.id) control.id = uid('f');
  const hintEl = hint ? h('small', { class: 'hint', id: `${control.id}-hint` }, hint) : null;
  if (hintEl) control.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'field' }, h('label', { for: control.id }, label), control, hintEl);
}

/** A form's error line and the controls it can blame (see fieldError). */
export interface FieldError {
  el: HTMLParagraphElement;
  /** Shows `message` (null hides it); the control named `param` is marked invalid and focused. */
  show(message: string | null, param?: string): void;
}

/**
 * The error line of a form whose API names the offending field (`ApiError.param`): the message
 * under the form, and the control of that name, if any, marked aria-invalid and focused.
 */
export function fieldError(controls: Record<string, HTMLElement>): FieldError {
  const el = h('p', { class: 'field-error', role: 'alert', hidden: true });
  return {
    el,
    show(message, param) {
      for (const c of Object.values(controls)) c.removeAttribute('aria-invalid');
      el.hidden = message === null;
      el.textContent = message ?? '';
      const c = param ? controls[param] : undefined;
      if (c && message !== null) {
        c.setAttribute('aria-invalid', 'true');
        c.focus();
      }
    },
  };
}

/** A status line for loading and error states (announced to screen readers). */
export function status(text: string, kind: 'info' | 'error' = 'info'): HTMLParagraphElement {
  return h('p', { class: `status ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text);
}

/** A titled panel, the building block of every dashboard. */
export function panel(title: string, ...children: Child[]): HTMLElement {
  const id = uid('panel');
  return h('section', { class: 'panel', 'aria-labelledby': id }, h('h2', { id }, title), ...children);
}

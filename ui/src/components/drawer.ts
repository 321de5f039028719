/**
 * The detail drawer: a side panel that takes focus when it opens, closes on Escape or its
 * button, and gives focus back to where the user was.
 * @module
 */
import { type Child, h, replace, uid } from '../dom.ts';

/** The drawer's handle. */
export interface Drawer {
  el: HTMLElement;
  open(title: string, ...content: Child[]): void;
  close(): void;
}

/** Builds a drawer (append `el` once to the page). */
export function createDrawer(): Drawer {
  const titleId = uid('drawer');
  const title = h('h2', { id: titleId });
  const body = h('div', { class: 'drawer-body' });
  let returnTo: HTMLElement | null = null;
  const closeBtn = h('button', { type: 'button', class: 'close', 'aria-label': 'Close details' }, '×');
  const el = h(
    'aside',
    { class: 'drawer', role: 'dialog', 'aria-labelledby': titleId, hidden: true, tabindex: -1 },
    h('div', { class: 'drawer-head' }, title, closeBtn),
    body,
  );
  const close = () => {
    el.hidden = true;
    returnTo?.focus();
  };
  closeBtn.addEventListener('click', close);
  el.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape') close();
  });
  return {
    el,
    open(text, ...content) {
      if (el.hidden) returnTo = document.activeElement as HTMLElement | null;
      title.textContent = text;
      replace(body, ...content);
      el.hidden = false;
      el.focus();
    },
    close,
  };
}

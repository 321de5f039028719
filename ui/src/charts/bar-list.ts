/**
 * Ranked horizontal bars in plain HTML (a list of links), used for drops by reason and the top
 * lists: every bar's number links to the flows behind it, and screen readers read a list.
 * @module
 */
import { h } from '../dom.ts';
import { fmtCount } from '../format.ts';

/** One bar. */
export interface Bar {
  label: string;
  count: number;
  /** The flows behind the number; undefined when no filter selects them (the number is plain text). */
  href: string | undefined;
  color?: string;
  /** Secondary text after the label (e.g. the scope). */
  note?: string;
}

/** Draws the bars; an empty list says so instead of showing nothing. */
export function barList(bars: Bar[], unit = 'events', empty = 'Nothing in this range'): HTMLElement {
  if (bars.length === 0) return h('p', { class: 'empty' }, empty);
  const max = Math.max(...bars.map((b) => b.count), 1);
  return h(
    'ol',
    { class: 'bar-list' },
    ...bars.map((b) =>
      h(
        'li',
        {},
        h(
          'span',
          { class: 'bar-label', title: b.label },
          b.label || '(none)',
          b.note ? h('small', {}, ` ${b.note}`) : null,
        ),
        h(
          'span',
          { class: 'bar-track', 'aria-hidden': 'true' },
          h('span', {
            class: 'bar',
            style: `width:${((b.count / max) * 100).toFixed(1)}%;${b.color ? `background:${b.color}` : ''}`,
          }),
        ),
        h(
          'a',
          { class: 'num', href: b.href, 'aria-label': `${fmtCount(b.count)} ${unit}: ${b.label}` },
          fmtCount(b.count),
        ),
      ),
    ),
  );
}

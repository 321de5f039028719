/**
 * A virtualized table: only the rows in view (plus a margin) exist in the DOM, so tens of
 * thousands of loaded flows scroll smoothly. Keyboard: arrow keys, Page Up/Down, Home/End move
 * the active row, Enter opens it; the grid exposes its full row count to assistive tech.
 * @module
 */
import { h, uid } from '../dom.ts';

/** One column: a header and how to draw a cell. */
export interface Column<T> {
  label: string;
  /** CSS grid track (e.g. `12rem`, `1fr`). */
  width: string;
  cell: (row: T) => Node | string;
  /** Tooltip text of a cell (full value when truncated). */
  title?: (row: T) => string;
  /** The key the header sorts by (with the table's `sort` option); absent: not sortable. */
  sortKey?: string;
}

/** The table's sort state: the header of `key` shows it, and a click on a sortable header asks to sort. */
export interface TableSort {
  key: string;
  descending: boolean;
  onSort: (key: string) => void;
}

/** Options of the table. */
export interface VirtualTableOptions<T> {
  label: string;
  columns: Column<T>[];
  rowHeight?: number;
  /** Viewport height in pixels. */
  height?: number;
  onOpen?: (row: T, index: number) => void;
  empty?: string;
  sort?: TableSort;
}

/** The table's handle. */
export interface VirtualTable<T> {
  el: HTMLElement;
  rows: T[];
  setRows(rows: T[]): void;
  appendRows(rows: T[]): void;
}

/** Builds a virtualized table. */
export function virtualTable<T>(opts: VirtualTableOptions<T>): VirtualTable<T> {
  const rowHeight = opts.rowHeight ?? 30;
  const height = opts.height ?? 520;
  const template = opts.columns.map((c) => c.width).join(' ');
  const id = uid('vt');
  let rows: T[] = [];
  let active = -1;

  const header = h(
    'div',
    { class: 'vt-row vt-head', role: 'row', style: `grid-template-columns:${template}` },
    ...opts.columns.map((c) => {
      const sort = opts.sort;
      if (!sort || !c.sortKey) return h('div', { role: 'columnheader', class: 'vt-cell' }, c.label);
      const key = c.sortKey;
      const state = sort.key === key ? (sort.descending ? 'descending' : 'ascending') : 'none';
      const button = h(
        'button',
        { type: 'button', class: 'sort', title: `Sort by ${c.label}`, 'data-sort': key },
        c.label,
      );
      button.addEventListener('click', () => sort.onSort(key));
      return h('div', { role: 'columnheader', class: 'vt-cell', 'aria-sort': state }, button);
    }),
  );
  const spacer = h('div', { class: 'vt-spacer', role: 'presentation' });
  const body = h('div', { class: 'vt-body', role: 'rowgroup' });
  const empty = h('p', { class: 'empty vt-empty' }, opts.empty ?? 'No rows');
  const scroller = h(
    'div',
    {
      class: 'vt-scroll',
      tabindex: 0,
      style: `height:${height}px`,
      'aria-label': `${opts.label}, use arrow keys and Enter`,
    },
    spacer,
    body,
    empty,
  );
  const el = h(
    'div',
    { class: 'vt', role: 'grid', 'aria-label': opts.label, id, 'data-row-count': 0, 'aria-rowcount': 1 },
    h('div', { role: 'rowgroup' }, header),
    scroller,
  );

  const draw = () => {
    const top = scroller.scrollTop;
    const first = Math.max(0, Math.floor(top / rowHeight) - 10);
    const last = Math.min(rows.length, Math.ceil((top + height) / rowHeight) + 10);
    const frag = document.createDocumentFragment();
    for (let i = first; i < last; i++) {
      const r = rows[i] as T;
      const row = h(
        'div',
        {
          class: `vt-row${i === active ? ' active' : ''}`,
          role: 'row',
          id: `${id}-r${i}`,
          'aria-rowindex': i + 2,
          'aria-selected': i === active ? 'true' : 'false',
          'data-index': i,
          style: `grid-template-columns:${template};transform:translateY(${i * rowHeight}px);height:${rowHeight}px`,
        },
        ...opts.columns.map((c) =>
          h('div', { role: 'gridcell', class: 'vt-cell', title: c.title?.(r) }, c.cell(r)),
        ),
      );
      row.addEventListener('click', () => select(i, true));
      frag.append(row);
    }
    body.replaceChildren(frag);
    empty.hidden = rows.length > 0;
    spacer.style.height = `${rows.length * rowHeight}px`;
    el.setAttribute('data-row-count', String(rows.length));
    el.setAttribute('aria-rowcount', String(rows.length + 1));
  };

  const select = (i: number, open: boolean) => {
    if (rows.length === 0) return;
    active = Math.max(0, Math.min(rows.length - 1, i));
    const y = active * rowHeight;
    if (y < scroller.scrollTop) scroller.scrollTop = y;
    else if (y + rowHeight > scroller.scrollTop + height) scroller.scrollTop = y + rowHeight - height;
    draw();
    scroller.setAttribute('aria-activedescendant', `${id}-r${active}`);
    if (open) opts.onOpen?.(rows[active] as T, active);
  };

  scroller.addEventListener('scroll', () => requestAnimationFrame(draw), { passive: true });
  scroller.addEventListener('keydown', (ev) => {
    const page = Math.max(1, Math.floor(height / rowHeight) - 1);
    const moves: Record<string, number> = {
      ArrowDown: active + 1,
      ArrowUp: active - 1,
      PageDown: active + page,
      PageUp: active - page,
      Home: 0,
      End: rows.length - 1,
    };
    if (ev.key in moves) {
      ev.preventDefault();
      select(moves[ev.key] ?? 0, false);
    } else if (ev.key === 'Enter' && active >= 0) {
      ev.preventDefault();
      select(active, true);
    }
  });

  const table: VirtualTable<T> = {
    el,
    get rows() {
      return rows;
    },
    setRows(next) {
      rows = next;
      active = -1;
      scroller.scrollTop = 0;
      draw();
    },
    appendRows(more) {
      rows = rows.concat(more);
      draw();
    },
  };
  draw();
  return table;
}

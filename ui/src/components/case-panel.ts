/**
 * A case's working state, editable where the case is shown: status (open, escalated, closed),
 * assignee, linked alert incidents and notes, saved through the API (PATCH and POST notes, each
 * audited there), and the abuse reports kept with the case. An error names the field the API
 * blamed, next to it.
 * @module
 */

import { caseStatuses } from '../../../common/case.ts';
import { ApiError, type CaseNote, type CaseState, type Investigation } from '../api.ts';
import { field, fieldError, h, replace } from '../dom.ts';
import { fmtTime } from '../format.ts';
import { link } from '../router.ts';
import type { Session } from '../session.ts';

const fresh: CaseState & { notes: CaseNote[] } = {
  status: 'open',
  assignee: '',
  linked_incidents: [],
  updated_at: null,
  updated_by: '',
  notes: [],
};

/** Linked incident ids as links to their incident on the alerts page (short ids, comma-separated). */
export function incidentLinks(ids: readonly string[]): (HTMLElement | string)[] {
  return ids.flatMap((id, i) => [
    i ? ', ' : '',
    h('a', { href: link('alerts', { incident: id }) }, h('code', {}, id.slice(0, 8))),
  ]);
}

/** The case panel's content for `inv` (its `case` as read back; a new case is open and unassigned). */
export function casePanel(session: Session, inv: Investigation, signal: AbortSignal): HTMLElement {
  const state = inv.case ?? fresh;
  const st = h(
    'select',
    { name: 'status' },
    ...caseStatuses.map((v) => h('option', { value: v, selected: state.status === v }, v)),
  );
  const assignee = h('input', { type: 'text', name: 'assignee', value: state.assignee, spellcheck: 'false' });
  const incidents = h('input', {
    type: 'text',
    name: 'linked_incidents',
    value: state.linked_incidents.join(', '),
    placeholder: 'incident ids, comma-separated',
    spellcheck: 'false',
  });
  const me = session.principal?.name;
  const assignMe = me
    ? h(
        'button',
        {
          type: 'button',
          onclick: () => {
            assignee.value = me;
          },
        },
        'Assign to me',
      )
    : null;
  const info = h('p', { class: 'hint', role: 'status', 'data-testid': 'case-updated' });
  const linked = h('p', { class: 'linked-incidents' });
  const err = fieldError({ status: st, assignee, linked_incidents: incidents });
  const el = h('div', { class: 'case-panel', 'data-testid': 'case-panel', 'data-status': state.status });
  const drawState = (s: CaseState) => {
    el.setAttribute('data-status', s.status);
    el.setAttribute('data-assignee', s.assignee);
    replace(
      info,
      s.updated_at
        ? `Last changed by ${s.updated_by} at ${fmtTime(s.updated_at)} UTC.`
        : 'Not changed since it was opened.',
    );
    replace(
      linked,
      s.linked_incidents.length ? 'Linked incidents: ' : 'No linked incidents.',
      ...incidentLinks(s.linked_incidents),
    );
  };
  drawState(state);
  const assigneeField = field('Assignee', assignee);
  if (assignMe) assigneeField.append(assignMe);
  const form = h(
    'form',
    { class: 'investigate-form', 'aria-label': 'Case state' },
    field('Status', st),
    assigneeField,
    field('Linked incidents', incidents, 'Alert incident ids this case covers'),
    h('button', { type: 'submit' }, 'Save case'),
    err.el,
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    err.show(null);
    const ids = incidents.value
      .split(/[\s,]+/)
      .map((x) => x.trim())
      .filter(Boolean);
    session.api
      .updateCase(
        inv.id,
        { status: st.value as CaseState['status'], assignee: assignee.value.trim(), linked_incidents: ids },
        signal,
      )
      .then(drawState)
      .catch((e: Error) => err.show(e.message, e instanceof ApiError ? e.param : undefined));
  });

  const notes = h('ol', { class: 'notes', 'data-testid': 'case-notes' });
  const drawNotes = (list: CaseNote[]) =>
    replace(
      notes,
      ...(list.length
        ? list.map((n) =>
            h(
              'li',
              { class: 'note-item' },
              h('p', { class: 'hint' }, `${n.author} · ${fmtTime(n.at)} UTC`),
              h('p', { class: 'note-text' }, n.text),
            ),
          )
        : [h('li', { class: 'empty' }, 'No notes yet.')]),
    );
  drawNotes(state.notes);
  const text = h('textarea', {
    name: 'text',
    rows: 3,
    placeholder: 'What was found, who was told, what happens next',
  });
  const noteErr = fieldError({ text });
  const noteForm = h(
    'form',
    { class: 'note-form', 'aria-label': 'Add a note' },
    field('New note', text),
    h('button', { type: 'submit' }, 'Add note'),
    noteErr.el,
  );
  noteForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    noteErr.show(null);
    session.api
      .addCaseNote(inv.id, text.value, signal)
      .then((r) => {
        text.value = '';
        drawNotes(r.notes);
      })
      .catch((e: Error) => noteErr.show(e.message, 'text'));
  });

  const reports = inv.case?.reports ?? [];
  replace(
    el,
    form,
    info,
    linked,
    h('h3', {}, 'Notes'),
    notes,
    noteForm,
    reports.length ? h('h3', {}, `Reports kept with the case (${reports.length})`) : null,
    ...reports.map((r) =>
      h(
        'details',
        { class: 'case-report', 'data-testid': 'case-report' },
        h(
          'summary',
          {},
          `${r.format}${r.category ? ` · ${r.category}` : ''} · received ${fmtTime(r.received_at)} UTC by ${r.received_by}`,
        ),
        h('pre', { class: 'json' }, r.raw),
      ),
    ),
  );
  return el;
}

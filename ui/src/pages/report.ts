/**
 * Import an abuse report as it reached the abuse desk: pasted or uploaded X-ARF (v0.2 YAML or
 * JSON, v1 JSON, or the X-ARF email) or ARF (RFC 5965 email). `POST /api/v1/reports` opens a
 * case prefilled from it (our address, their address, port, time ± tolerance, the report kept
 * as evidence), which then opens. A malformed report gets the API's message, which names the
 * report's field that is wrong.
 * @module
 */
import { ApiError } from '../api.ts';
import { field, h, replace } from '../dom.ts';
import { go, link, type Page, type PageContext } from '../router.ts';

/** Reports larger than this are refused before upload (the API's own cap is the same order). */
const maxBytes = 1_000_000;

async function render(ctx: PageContext): Promise<void> {
  const { root, session, signal } = ctx;
  const text = h('textarea', {
    name: 'report',
    rows: 18,
    spellcheck: 'false',
    class: 'report-text',
    placeholder: 'Date: 2026-12-01T10:15:30Z\nSource: 192.0.2.125\nDestination: 203.0.113.200\nPort: 22\n…',
  });
  const file = h('input', {
    type: 'file',
    name: 'file',
    accept: '.json,.yaml,.yml,.eml,.txt,.msg,message/rfc822,application/json,text/plain',
  });
  const err = h('p', { class: 'field-error', role: 'alert', hidden: true, 'data-testid': 'report-error' });
  const busy = h('p', { class: 'status info', role: 'status', hidden: true }, 'Importing and investigating…');
  const submit = h('button', { type: 'submit' }, 'Import report');
  const showError = (message: string, param?: string) => {
    err.textContent = message;
    err.hidden = false;
    if (param) err.setAttribute('data-param', param);
    else err.removeAttribute('data-param');
    text.setAttribute('aria-invalid', 'true');
    text.focus();
  };
  file.addEventListener('change', () => {
    const f = file.files?.[0];
    if (!f) return;
    if (f.size > maxBytes) {
      showError(`report: the file is larger than ${maxBytes.toLocaleString('en-US')} bytes`, 'report');
      return;
    }
    void f.text().then((t) => {
      text.value = t;
      err.hidden = true;
      text.removeAttribute('aria-invalid');
    });
  });
  const form = h(
    'form',
    { class: 'report-form panel', 'aria-label': 'Abuse report' },
    field('Upload a report file', file, 'An .eml email (ARF or X-ARF), or an X-ARF .json / .yaml file'),
    field('Report', text, 'Or paste it: the whole email, or the X-ARF JSON / YAML'),
    h('div', { class: 'actions' }, submit),
    busy,
    err,
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    err.hidden = true;
    text.removeAttribute('aria-invalid');
    if (!text.value.trim()) {
      showError('report: paste a report or choose a file', 'report');
      return;
    }
    submit.disabled = true;
    busy.hidden = false;
    session.api
      .importReport(text.value, signal)
      .then((inv) => go(link('investigate', { id: inv.id })))
      .catch((e: Error) => {
        if (e.name === 'AbortError') return;
        showError(
          e instanceof ApiError && e.status === 400 ? e.message : `Could not import the report: ${e.message}`,
          e instanceof ApiError ? e.param : undefined,
        );
      })
      .finally(() => {
        submit.disabled = false;
        busy.hidden = true;
      });
  });
  replace(
    root,
    h('div', { class: 'page-head' }, h('h1', {}, 'Import an abuse report')),
    h(
      'p',
      { class: 'note' },
      'X-ARF (v0.2 YAML or JSON, v1 JSON, or the X-ARF email) and ARF (RFC 5965 feedback reports). The report opens a case prefilled with our address, their address, the port and the time ± tolerance, and is kept with the case as evidence. ',
      h('a', { href: link('cases') }, 'Saved cases'),
    ),
    form,
  );
}

/** The report import page (linked from the investigate and cases pages; not in the navigation). */
export const reportPage: Page = {
  name: 'report',
  title: 'Import a report',
  roles: ['admin', 'investigator', 'tenant'],
  nav: false,
  render,
};

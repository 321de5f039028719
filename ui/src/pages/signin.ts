/**
 * Sign-in with an API token. The token is kept in sessionStorage only (closing the tab signs
 * out) and checked against the API before it is kept.
 * @module
 */
import { field, h, replace, status } from '../dom.ts';
import { go, link, type Page, type PageContext } from '../router.ts';
import { resolvePrincipal, storedToken, storeToken } from '../session.ts';

async function render(ctx: PageContext): Promise<void> {
  const { root, session, params } = ctx;
  const token = h('input', {
    type: 'password',
    name: 'token',
    autocomplete: 'off',
    required: true,
    spellcheck: 'false',
  });
  const msg = h('div', { 'aria-live': 'polite' });
  const form = h(
    'form',
    { class: 'signin', 'aria-label': 'Sign in' },
    h('h1', {}, 'Sign in to Flowtrail'),
    h(
      'p',
      {},
      'Paste an API token. It stays in this browser tab only (session storage) and is sent as a bearer token.',
    ),
    field('API token', token, 'Tokens are configured by an administrator in FLOWTRAIL_CONFIG.'),
    h('button', { type: 'submit' }, 'Sign in'),
    msg,
    storedToken()
      ? h(
          'p',
          {},
          h(
            'button',
            {
              type: 'button',
              id: 'signout',
              onclick: () => {
                storeToken(null);
                location.reload();
              },
            },
            'Sign out',
          ),
        )
      : null,
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    storeToken(token.value.trim());
    replace(msg, status('Checking…'));
    try {
      const me = await resolvePrincipal(session);
      if (!me) {
        storeToken(null);
        replace(msg, status('The API did not accept this token.', 'error'));
        return;
      }
      session.principal = me;
      window.dispatchEvent(new CustomEvent('flowtrail:session'));
      go(params.get('next') ?? link('overview'));
    } catch (err) {
      storeToken(null);
      replace(msg, status(`Sign-in failed: ${(err as Error).message}`, 'error'));
    }
  });
  replace(root, form);
  token.focus();
}

/** The sign-in page (always reachable). */
export const signinPage: Page = {
  name: 'signin',
  title: 'Sign in',
  roles: [],
  visible: () => false,
  render,
};

/**
 * Investigate page (being written).
 * @module
 */
import { h, replace } from '../dom.ts';
import type { Page } from '../router.ts';

/** The Investigate page. */
export const investigatePage: Page = {
  name: 'investigate',
  title: 'Investigate',
  roles: ['admin', 'investigator', 'tenant'],
  render: ({ root }) => replace(root, h('h1', {}, 'Investigate')),
};

/**
 * Alerts page (being written).
 * @module
 */
import { h, replace } from '../dom.ts';
import type { Page } from '../router.ts';

/** The Alerts page. */
export const alertsPage: Page = {
  name: 'alerts',
  title: 'Alerts',
  roles: ['admin', 'investigator', 'sre'],
  render: ({ root }) => replace(root, h('h1', {}, 'Alerts')),
};

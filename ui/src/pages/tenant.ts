/**
 * Tenants page (being written).
 * @module
 */
import { h, replace } from '../dom.ts';
import type { Page } from '../router.ts';

/** The Tenants page. */
export const tenantPage: Page = {
  name: 'tenants',
  title: 'Tenants',
  roles: ['admin', 'investigator', 'sre', 'tenant'],
  render: ({ root }) => replace(root, h('h1', {}, 'Tenants')),
};

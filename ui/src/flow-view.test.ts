import { describe, expect, it } from 'vitest';
import type { Owner } from './api.ts';
import { ownerLabel } from './flow-view.ts';

const owner: Owner = {
  tenant: 'globex',
  account: 'g-9',
  namespace: 'globex',
  job: 'miner',
  group: 'web',
  alloc_id: 'b',
  alloc_name: 'miner.web[0]',
  node: 'n1',
  start: null,
  end: null,
  source: 'ownership',
};

describe('ui > flow-view > owner label', () => {
  it('marks an end whose labels disagreed with ownership', () => {
    expect(ownerLabel(owner, undefined)).toBe('globex/miner');
    expect(
      ownerLabel(
        {
          ...owner,
          conflict: {
            labels: { tenant: 'acme', account: '', namespace: '', job: 'web', group: '' },
            ownership: {
              tenant: 'globex',
              account: 'g-9',
              namespace: 'globex',
              job: 'miner',
              group: 'web',
              alloc_id: 'b',
            },
            fields: ['tenant'],
          },
        },
        undefined,
      ),
    ).toBe('globex/miner ⚠ labels: acme/web');
    expect(ownerLabel({ ...owner, conflict: { description: 'x' } }, undefined)).toBe(
      'globex/miner ⚠ labels disagree',
    );
  });
});

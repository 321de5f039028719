import { describe, expect, it } from 'vitest';
import {
  FlowFilterError,
  filterSetFromArgs,
  filterSetFromParams,
  isFilterParam,
  isNarrowed,
  parseFilterSet,
} from './index.ts';

describe('common > filter > owner words', () => {
  it('reads the plain words for either end and the from-/to- forms for one end', () => {
    const set = filterSetFromParams({
      tenant: 'acme',
      'from-account': ['a1', 'a2'],
      'to-job': 'smtp',
      'to-scope': 'world',
      'from-alloc': 'api.web[0]',
    });
    expect(set.owner).toEqual({
      tenant: ['acme'],
      source: { account: ['a1', 'a2'], alloc: ['api.web[0]'] },
      destination: { job: ['smtp'], scope: ['world'] },
    });
    expect(set.whitelist).toEqual([]);
    expect(filterSetFromArgs(['--from-tenant', 'acme', '--to-tenant=globex']).set.owner).toEqual({
      source: { tenant: ['acme'] },
      destination: { tenant: ['globex'] },
    });
  });

  it('a one-end owner filter narrows a scan as the either-end one does; a scope alone does not', () => {
    expect(isNarrowed(parseFilterSet(filterSetFromParams({ 'from-account': 'a1' })))).toBe(true);
    expect(isNarrowed(parseFilterSet(filterSetFromParams({ 'to-scope': 'world' })))).toBe(false);
  });

  it('refuses a bad scope and an empty value, naming the word; negation excludes', () => {
    const err = (p: Record<string, string>) => {
      try {
        filterSetFromParams(p);
      } catch (e) {
        return e instanceof FlowFilterError ? e.field : 'other';
      }
      return 'none';
    };
    expect(err({ 'to-scope': 'mars' })).toBe('to-scope');
    expect(err({ 'from-tenant': '' })).toBe('from-tenant');
    expect(err({ 'not-from-account': 'a1' })).toBe('none');
    // Negated, a one-end word leaves out the flows it would select.
    expect(filterSetFromParams({ 'not-from-account': 'a1', 'to-tenant': 't' }).owner).toEqual({
      destination: { tenant: ['t'] },
      exclude: { source: { account: ['a1'] } },
    });
    expect(isFilterParam('from-job')).toBe(true);
    expect(isFilterParam('from-verdict')).toBe(false);
  });
});

import { describe, expect, it } from 'vitest';
import { parseHash } from '../router.ts';
import { ownerTargets, pivotLinks } from './pivot.ts';

const at = '2026-12-01T10:00:00.000Z';
const entries = (t: Parameters<typeof pivotLinks>[0]) => Object.fromEntries(pivotLinks(t));

describe('ui > pivot links', () => {
  it('offers filter, exclude, investigate, activity ±1 h and who held for an address', () => {
    const l = entries({ kind: 'ip', value: '10.0.0.1', at });
    expect(Object.keys(l)).toEqual([
      'Filter flows by it',
      'Exclude it',
      'Investigate it',
      'Activity ±1 h',
      'Who held it at this instant',
    ]);
    const who = parseHash(l['Who held it at this instant']!);
    expect([who.name, who.params.get('ip'), who.params.get('at')]).toEqual(['who', '10.0.0.1', at]);
    const filter = parseHash(l['Filter flows by it']!);
    expect(filter.params.get('since')).toBe('2026-12-01T09:00:00.000Z');
    expect(filter.params.get('until')).toBe('2026-12-01T11:00:00.000Z');
  });

  it('excludes from the base query shown (kept, cursor dropped, value once), else from ±1 h', () => {
    const base = { ip: '10.0.0.1', since: 'a', until: 'b', cursor: 'c', 'not-account': ['x'] };
    const ex = parseHash(entries({ kind: 'account', value: 'x', at, base })['Exclude it']!);
    expect(ex.name).toBe('flows');
    expect([...ex.params]).toEqual([
      ['ip', '10.0.0.1'],
      ['since', 'a'],
      ['until', 'b'],
      ['not-account', 'x'],
    ]);
    const alone = parseHash(entries({ kind: 'tenant', value: 'acme', at })['Exclude it']!);
    expect([...alone.params]).toEqual([
      ['since', '2026-12-01T09:00:00.000Z'],
      ['until', '2026-12-01T11:00:00.000Z'],
      ['not-tenant', 'acme'],
    ]);
  });

  it("makes an owner's pivots: allocation, job, account, tenant (those it has)", () => {
    const o = { tenant: 't', account: 'a', job: '', alloc_id: 'id1', alloc_name: 'web[0]' };
    expect(ownerTargets(o, at).map((t) => [t.kind, t.value, t.label])).toEqual([
      ['alloc', 'id1', 'web[0]'],
      ['account', 'a', undefined],
      ['tenant', 't', undefined],
    ]);
  });
});

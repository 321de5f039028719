import { describe, expect, it } from 'vitest';
import { boundedJson } from './bounded-json.ts';

describe('common > bounded-json', () => {
  it('never throws and stays valid JSON: depth, cycles, bigints, long text', () => {
    let deep: Record<string, unknown> = {};
    const top = deep;
    for (let i = 0; i < 10_000; i++) {
      const next: Record<string, unknown> = {};
      deep['a'] = next;
      deep = next;
    }
    deep['self'] = top;
    expect(boundedJson(top)).toContain('"[depth]"');
    const cyclic: Record<string, unknown> = { n: 1n };
    cyclic['me'] = cyclic;
    expect(JSON.parse(boundedJson(cyclic))).toEqual({ n: '1', me: '[cycle]' });
    const long = boundedJson({ s: 'x'.repeat(100_000) }, { maxChars: 1000 });
    expect(long.length).toBeLessThanOrEqual(1002);
    expect(() => JSON.parse(long)).not.toThrow();
    const hostile = {
      get boom() {
        throw new Error('no');
      },
    };
    expect(boundedJson(hostile)).toBe('"[unserializable]"');
  });
});

import { describe, expect, it } from 'vitest';
import { formatFieldMask, parseFieldMask } from './field-mask.js';

describe('proto > field-mask', () => {
  it.each([
    { paths: [], text: '' },
    { paths: ['time'], text: 'time' },
    { paths: ['source.pod_name', 'node_name', 'l4'], text: 'source.podName,nodeName,l4' },
  ])('$paths ↔ "$text"', ({ paths, text }) => {
    expect(formatFieldMask(paths)).toBe(text);
    expect(parseFieldMask(text)).toEqual(paths);
  });

  it.each([
    { paths: ['IP'], reason: /no reversible JSON form/ },
    { paths: ['Summary'], reason: /no reversible JSON form/ },
    { paths: ['a..b'], reason: /invalid FieldMask path/ },
  ])('refuses to write $paths', ({ paths, reason }) => {
    expect(() => formatFieldMask(paths)).toThrow(reason);
  });

  it('refuses snake_case in JSON', () => {
    expect(() => parseFieldMask('node_name')).toThrow(/invalid FieldMask path "node_name"/);
  });
});

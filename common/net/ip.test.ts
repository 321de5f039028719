import { describe, expect, it } from 'vitest';
import { dottedQuadAt, formatIpBytes, parseIpBytes } from './ip.ts';

describe('common > net > ip', () => {
  it.each([
    { input: '10.0.0.1', expected: '10.0.0.1' },
    { input: '255.255.255.255', expected: '255.255.255.255' },
    { input: 'fd00:ec2::254', expected: 'fd00:ec2::254' },
    { input: '::1', expected: '::1' },
    { input: '::', expected: '::' },
    { input: '2001:db8:0:0:1:0:0:1', expected: '2001:db8::1:0:0:1' },
    { input: 'FE80::1%eth0', expected: 'fe80::1' },
    { input: '::ffff:192.0.2.1', expected: '192.0.2.1' },
  ])('round-trips $input', ({ input, expected }) => {
    const b = parseIpBytes(input);
    expect(b).toBeDefined();
    expect(formatIpBytes(b!)).toBe(expected);
  });

  it.each([
    '',
    '1.2.3',
    '1.2.3.4.5',
    '256.1.1.1',
    '1::2::3',
    '12345::',
    'a:b:c:d:e:f:g:h',
    'x.y.z.w',
    '1.2.3.4:80',
  ])('rejects %j', (input) => {
    expect(parseIpBytes(input)).toBeUndefined();
  });

  it('maps IPv4 into ::ffff:0:0/96', () => {
    expect([...parseIpBytes('1.2.3.4')!]).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 1, 2, 3, 4]);
  });

  it.each([
    { input: '10.0.0.1', expected: 1 },
    { input: '0.0.0.0', expected: 1 },
    { input: '255.255.255.255', expected: 1 },
    { input: '10.0.0.01', expected: 2 },
    { input: '010.0.0.1', expected: 2 },
    { input: '10.00.0.1', expected: 2 },
    { input: '256.0.0.1', expected: 0 },
    { input: '1.2.3.4.5', expected: 0 },
    { input: '1.2..4', expected: 0 },
    { input: '1.2.3.', expected: 0 },
    { input: '1.2.3.4444', expected: 0 },
    { input: '1.2.3.4%e', expected: 0 },
    { input: 'x.1.2.3', expected: 0 },
    { input: '1.2.3.\u0661', expected: 0 },
  ])('reads $input from bytes as parseIpBytes reads its text ($expected)', ({ input, expected }) => {
    // Inside a larger buffer, as the ingest path reads it from a Flow's bytes.
    const text = Buffer.from(`xx${input}yy`, 'utf8');
    const out = new Uint8Array(16);
    expect(dottedQuadAt(text, 2, text.length - 2, out)).toBe(expected);
    const parsed = parseIpBytes(input);
    expect(parsed !== undefined).toBe(expected !== 0);
    if (parsed) expect([...out]).toEqual([...parsed]);
    if (expected === 1) expect(formatIpBytes(out)).toBe(input);
  });
});

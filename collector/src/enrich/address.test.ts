import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../common/errors.ts';
import { createCidrSet, parseV4, parseV6 } from './address.ts';

describe('collector > enrich > address', () => {
  it.each([
    { input: '10.0.0.1', expected: 167772161 },
    { input: '255.255.255.255', expected: 4294967295 },
    { input: '1.2.3', expected: -1 },
    { input: '256.0.0.1', expected: -1 },
    { input: '1.2.3.4.5', expected: -1 },
  ])('parses IPv4 $input', ({ input, expected }) => {
    expect(parseV4(input)).toBe(expected);
  });

  it.each([
    { input: '::1', expected: [0, 0, 0, 1] },
    { input: 'fd00:ec2::254', expected: [0xfd000ec2, 0, 0, 0x254] },
    { input: '2001:db8:1:2:3:4:5:6', expected: [0x20010db8, 0x00010002, 0x00030004, 0x00050006] },
    { input: '::ffff:10.0.0.1', expected: [0, 0, 0xffff, 0x0a000001] },
    { input: 'fe80::', expected: [0xfe800000, 0, 0, 0] },
    { input: '1::2:3', expected: [0x00010000, 0, 0, 0x00020003] },
  ])('parses IPv6 $input', ({ input, expected }) => {
    const out = new Uint32Array(4);
    expect(parseV6(input, out)).toBe(true);
    expect([...out]).toEqual(expected);
  });

  it.each(['1::2::3', ':1', '1:2:3:4:5:6:7:8:9', 'g::1', '12345::'])('rejects IPv6 %j', (input) => {
    expect(parseV6(input, new Uint32Array(4))).toBe(false);
  });

  it('matches both families and IPv4-mapped addresses', () => {
    const set = createCidrSet(['10.0.0.0/8', 'fd00:ec2::254/128', '192.168.1.0/24']);
    expect(set.indexOf('10.9.8.7')).toBe(0);
    expect(set.indexOf('::ffff:10.9.8.7')).toBe(0);
    expect(set.indexOf('fd00:ec2::254')).toBe(1);
    expect(set.indexOf('fd00:ec2::255')).toBe(-1);
    expect(set.indexOf('192.168.1.200')).toBe(2);
    expect(set.contains('8.8.8.8')).toBe(false);
    expect(set.contains('not an ip')).toBe(false);
  });

  it('rejects a bad CIDR with a ConfigError', () => {
    expect(() => createCidrSet(['10.0.0.0/33'])).toThrow(ConfigError);
  });
});

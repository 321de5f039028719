import { describe, expect, it } from 'vitest';
import { fmtAddr, fmtTime, fromLocalInput, timeMs } from './format.ts';
import { inCidr, isSingleAddress } from './ip.ts';

describe('ui > format', () => {
  it.each([
    { input: '2023-08-21T12:12:13.517394084Z', expected: '2023-08-21 12:12:13.517394084' },
    { input: '2023-08-21T12:12:13Z', expected: '2023-08-21 12:12:13' },
    { input: 'not a time', expected: 'not a time' },
  ])('fmtTime keeps every sub-second digit: $input', ({ input, expected }) => {
    expect(fmtTime(input)).toBe(expected);
  });

  it('timeMs keeps sub-millisecond precision as a fraction', () => {
    expect(timeMs('2023-08-21T12:12:13.517394084Z')).toBeCloseTo(
      Date.parse('2023-08-21T12:12:13.517Z') + 0.394084,
      5,
    );
  });

  it.each([
    { ip: '10.0.0.1', port: 80, expected: '10.0.0.1:80' },
    { ip: 'fe80::1', port: 443, expected: '[fe80::1]:443' },
    { ip: '10.0.0.1', port: undefined, expected: '10.0.0.1' },
  ])('fmtAddr $ip $port', ({ ip, port, expected }) => {
    expect(fmtAddr(ip, port)).toBe(expected);
  });

  it('reads datetime-local values as UTC', () => {
    expect(fromLocalInput('2024-05-01T10:03')).toBe('2024-05-01T10:03:00.000Z');
    expect(fromLocalInput('')).toBeUndefined();
  });
});

describe('ui > ip', () => {
  it.each([
    { ip: '10.0.0.7', cidr: '10.0.0.0/24', expected: true },
    { ip: '10.0.1.7', cidr: '10.0.0.0/24', expected: false },
    { ip: '198.51.100.7', cidr: '198.51.100.7', expected: true },
    { ip: '10.255.0.1', cidr: '10.0.0.0/8', expected: true },
  ])('inCidr($ip, $cidr)', ({ ip, cidr, expected }) => {
    expect(inCidr(ip, cidr)).toBe(expected);
  });

  it('tells addresses from ranges', () => {
    expect(isSingleAddress('10.0.0.1')).toBe(true);
    expect(isSingleAddress('10.0.0.1/32')).toBe(true);
    expect(isSingleAddress('10.0.0.0/24')).toBe(false);
  });
});

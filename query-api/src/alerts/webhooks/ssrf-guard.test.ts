import { describe, expect, it } from 'vitest';
import { signPayload, verifySignature } from './signature.ts';
import { createTargetGuard, isPrivateAddress, TargetRefusedError } from './ssrf-guard.ts';

const resolver = (table: Record<string, string[]>) => async (host: string) =>
  (table[host] ?? []).map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

describe('query-api > alerts > webhooks > ssrf-guard', () => {
  it.each([
    { address: '127.0.0.1', expected: true },
    { address: '10.1.2.3', expected: true },
    { address: '172.20.0.1', expected: true },
    { address: '192.168.1.1', expected: true },
    { address: '100.64.0.1', expected: true },
    { address: '169.254.169.254', expected: true },
    { address: '0.0.0.0', expected: true },
    { address: '::1', expected: true },
    { address: 'fd00:ec2::254', expected: true },
    { address: 'fe80::1', expected: true },
    { address: '::ffff:127.0.0.1', expected: true },
    { address: '::7f00:1', expected: true },
    { address: '::ffff:7f00:1', expected: true },
    { address: '::ffff:0:7f00:1', expected: true },
    { address: '2002:7f00:1::', expected: true },
    { address: '100::1', expected: true },
    { address: '64:ff9b::7f00:1', expected: true },
    { address: '2001:0:4136:e378::1', expected: true },
    { address: '::ffff:93.184.216.34', expected: false },
    { address: '2001:4860:4860::8888', expected: false },
    { address: '93.184.216.34', expected: false },
    { address: '2606:4700::1111', expected: false },
  ])('$address private: $expected', ({ address, expected }) => {
    expect(isPrivateAddress(address)).toBe(expected);
  });

  it.each(['[::127.0.0.1]', '[::ffff:0:7f00:1]', '[2002:7f00:1::]', '[100::1]', '[::ffff:127.0.0.1]'])(
    'refuses the URL literal %s',
    async (host) => {
      const guard = createTargetGuard([]);
      await expect(guard.resolve(new URL(`http://${host}:8080/hook`))).rejects.toThrow(TargetRefusedError);
    },
  );

  it('refuses names and literals that reach private space unless allowlisted', async () => {
    const table = {
      'hooks.example.com': ['93.184.216.34'],
      'internal.example.com': ['10.0.0.5'],
      'mixed.example.com': ['93.184.216.34', '10.0.0.7'],
      'ops.internal': ['10.9.0.1'],
    };
    const guard = createTargetGuard(['192.168.0.0/16', 'ops.internal', '127.0.0.1'], resolver(table));
    await expect(guard.resolve(new URL('https://hooks.example.com/x'))).resolves.toEqual({
      address: '93.184.216.34',
      family: 4,
    });
    for (const url of [
      'https://internal.example.com/x',
      'https://mixed.example.com/x',
      'http://169.254.169.254/latest/meta-data',
      'http://[::1]:8080/',
      'http://127.0.0.2/',
      'http://unknown.example.com/',
    ]) {
      await expect(guard.resolve(new URL(url)), url).rejects.toBeInstanceOf(TargetRefusedError);
    }
    await expect(guard.resolve(new URL('http://192.168.4.4/'))).resolves.toMatchObject({
      address: '192.168.4.4',
    });
    await expect(guard.resolve(new URL('http://ops.internal/'))).resolves.toMatchObject({
      address: '10.9.0.1',
    });
    await expect(guard.resolve(new URL('http://127.0.0.1:9/'))).resolves.toMatchObject({
      address: '127.0.0.1',
    });
  });
});

describe('query-api > alerts > webhooks > signature', () => {
  it('verifies its own signature and rejects tampering, other keys and stale timestamps', () => {
    const body = '{"a":1}';
    const h = signPayload('secret-secret-secret', body, 1_700_000_000);
    expect(h).toMatch(/^t=1700000000,v1=[0-9a-f]{64}$/);
    expect(verifySignature('secret-secret-secret', h, body, 1_700_000_100)).toBe(true);
    expect(verifySignature('secret-secret-secret', h, '{"a":2}', 1_700_000_100)).toBe(false);
    expect(verifySignature('other-secret-secret', h, body, 1_700_000_100)).toBe(false);
    expect(verifySignature('secret-secret-secret', h, body, 1_700_001_000)).toBe(false);
  });
});

import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { buildBundle, verifyBundle } from './bundle.ts';
import { readTar, writeTar } from './tar.ts';

const files = [
  { name: 'case.json', data: Buffer.from('{"case_id":"x"}\n') },
  { name: 'flows.ndjson', data: Buffer.from('{"flow":{}}\n'.repeat(100)) },
];

describe('common > evidence bundles', () => {
  it('tar round-trips files of any size, padding to 512-byte blocks', () => {
    const entries = [
      { name: 'a', data: Buffer.alloc(0) },
      { name: 'b', data: Buffer.alloc(512, 1) },
      { name: 'c', data: Buffer.alloc(513, 2) },
    ];
    const tar = writeTar(entries, 1_700_000_000);
    expect(tar.length % 512).toBe(0);
    expect(readTar(tar)).toEqual(entries);
  });

  it('Ed25519: verifies with the public key alone, not with another key or as HMAC', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const pub = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const bundle = buildBundle(files, {
      keyId: 'k1',
      ed25519PrivateKeyPem: pem,
      hmacKey: 'ignored-when-ed25519-is-set',
    });
    expect(verifyBundle(bundle, { ed25519PublicKeyPem: pub })).toMatchObject({
      ok: true,
      alg: 'Ed25519',
      key_id: 'k1',
    });
    const other = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(verifyBundle(bundle, { ed25519PublicKeyPem: other }).ok).toBe(false);
    expect(verifyBundle(bundle, { hmacKey: 'ignored-when-ed25519-is-set' }).ok).toBe(false);
  });

  it('rejects a file the manifest does not list, and a missing one', () => {
    const key = { keyId: 'k', hmacKey: 'h'.repeat(32) };
    const entries = readTar(buildBundle(files, key));
    const extra = writeTar([...entries, { name: 'extra.txt', data: Buffer.from('x') }], 0);
    expect(verifyBundle(extra, key).problems).toContain('extra.txt: not in the manifest');
    const missing = writeTar(entries.slice(1), 0);
    expect(verifyBundle(missing, key).problems).toContain('case.json: listed in the manifest but missing');
  });
});

/**
 * Evidence bundles: one tar holding a case's files, a manifest with the SHA-256 and size of
 * every file, and a signature over the manifest's exact bytes (HMAC-SHA256 with a shared key, or
 * Ed25519 when a private key is configured, so a third party can verify with the public key
 * alone). Verification re-reads the archive strictly (tar.ts), checks each hash, rejects files
 * the manifest does not list, and checks the signature: changing any byte of the bundle fails.
 * @module
 */
import {
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  sign,
  timingSafeEqual,
  verify,
} from 'node:crypto';
import { readTar, type TarEntry, writeTar } from './tar.ts';

/** The signing key of bundles, from the config. */
export interface EvidenceSigningKey {
  /** Names the key in the signature, so a verifier knows which one to use. */
  keyId: string;
  /** Shared secret for HMAC-SHA256. */
  hmacKey?: string | undefined;
  /** PKCS#8 PEM Ed25519 private key; preferred over the HMAC key when both are set. */
  ed25519PrivateKeyPem?: string | undefined;
}

/** What verifies a bundle: the HMAC secret, or the Ed25519 public key (SPKI PEM). */
export interface EvidenceVerifyKey {
  hmacKey?: string | undefined;
  ed25519PublicKeyPem?: string | undefined;
}

/** The manifest of a bundle (manifest.json). */
export interface EvidenceManifest {
  format: 'flowtrail-evidence/1';
  created_at: string;
  /** The signature's algorithm and key id, inside the signed bytes so neither can be swapped. */
  signed_with: { alg: EvidenceSignature['alg']; key_id: string };
  files: { name: string; size: number; sha256: string }[];
}

/** The signature file (manifest.sig.json): over the exact bytes of manifest.json. */
export interface EvidenceSignature {
  alg: 'HMAC-SHA256' | 'Ed25519';
  key_id: string;
  signature: string;
  /** For Ed25519, the signer's public key (SPKI PEM), for reference: trust the configured one. */
  public_key?: string;
}

/** Result of verifyBundle. */
export interface EvidenceVerification {
  ok: boolean;
  alg?: string;
  key_id?: string;
  files: string[];
  problems: string[];
}

export const manifestName = 'manifest.json';
export const signatureName = 'manifest.sig.json';

function serializeSignature(sig: EvidenceSignature): string {
  const { alg, key_id, signature, public_key } = sig;
  return `${JSON.stringify({ alg, key_id, signature, ...(public_key === undefined ? {} : { public_key }) }, null, 2)}\n`;
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Builds the signed bundle of `files` (names must be unique and not the manifest's). */
export function buildBundle(
  files: readonly TarEntry[],
  key: EvidenceSigningKey,
  now: Date = new Date(),
): Buffer {
  const alg = key.ed25519PrivateKeyPem ? 'Ed25519' : 'HMAC-SHA256';
  const manifest: EvidenceManifest = {
    format: 'flowtrail-evidence/1',
    created_at: now.toISOString(),
    signed_with: { alg, key_id: key.keyId },
    files: files.map((f) => ({ name: f.name, size: f.data.length, sha256: sha256(f.data) })),
  };
  const manifestBytes = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);
  let sig: EvidenceSignature;
  if (key.ed25519PrivateKeyPem) {
    const priv = createPrivateKey(key.ed25519PrivateKeyPem);
    sig = {
      alg: 'Ed25519',
      key_id: key.keyId,
      signature: sign(null, manifestBytes, priv).toString('base64'),
      public_key: createPublicKey(priv).export({ type: 'spki', format: 'pem' }).toString(),
    };
  } else if (key.hmacKey) {
    sig = {
      alg: 'HMAC-SHA256',
      key_id: key.keyId,
      signature: createHmac('sha256', key.hmacKey).update(manifestBytes).digest('base64'),
    };
  } else throw new Error('no evidence signing key configured');
  return writeTar(
    [
      ...files,
      { name: manifestName, data: manifestBytes },
      { name: signatureName, data: Buffer.from(serializeSignature(sig)) },
    ],
    Math.floor(now.getTime() / 1000),
  );
}

/** Verifies a bundle against a key; never throws for a bad bundle (problems say why). */
export function verifyBundle(buf: Buffer, key: EvidenceVerifyKey): EvidenceVerification {
  const problems: string[] = [];
  let entries: TarEntry[];
  try {
    entries = readTar(buf);
  } catch (err) {
    return { ok: false, files: [], problems: [(err as Error).message] };
  }
  const byName = new Map<string, Buffer>();
  for (const e of entries) {
    if (byName.has(e.name)) problems.push(`${e.name}: appears twice`);
    byName.set(e.name, e.data);
  }
  const manifestBytes = byName.get(manifestName);
  const sigBytes = byName.get(signatureName);
  if (!manifestBytes || !sigBytes)
    return { ok: false, files: [...byName.keys()], problems: ['no manifest or signature'] };
  let manifest: EvidenceManifest;
  let sig: EvidenceSignature;
  try {
    manifest = JSON.parse(manifestBytes.toString('utf8')) as EvidenceManifest;
    sig = JSON.parse(sigBytes.toString('utf8')) as EvidenceSignature;
  } catch {
    return { ok: false, files: [...byName.keys()], problems: ['manifest or signature is not JSON'] };
  }
  const listed = new Set<string>();
  for (const f of manifest.files ?? []) {
    listed.add(f.name);
    const data = byName.get(f.name);
    if (!data) problems.push(`${f.name}: listed in the manifest but missing`);
    else if (data.length !== f.size || sha256(data) !== f.sha256)
      problems.push(`${f.name}: SHA-256 does not match the manifest`);
  }
  for (const name of byName.keys())
    if (!listed.has(name) && name !== manifestName && name !== signatureName)
      problems.push(`${name}: not in the manifest`);
  const signature = Buffer.from(String(sig.signature ?? ''), 'base64');
  if (manifest.signed_with?.alg !== sig.alg || manifest.signed_with?.key_id !== sig.key_id)
    problems.push('the signature file names another algorithm or key than the manifest');
  // The signature file must be exactly as written (base64 decoding is lenient, JSON spacing free).
  if (serializeSignature({ ...sig, signature: signature.toString('base64') }) !== sigBytes.toString('utf8'))
    problems.push(`${signatureName}: not in its canonical form`);
  if (sig.alg === 'HMAC-SHA256') {
    if (!key.hmacKey) problems.push('the bundle is HMAC-signed: give the HMAC key');
    else {
      const want = createHmac('sha256', key.hmacKey).update(manifestBytes).digest();
      if (want.length !== signature.length || !timingSafeEqual(want, signature))
        problems.push('signature does not match the manifest (wrong key, or the manifest changed)');
    }
  } else if (sig.alg === 'Ed25519') {
    if (!key.ed25519PublicKeyPem) problems.push('the bundle is Ed25519-signed: give the public key');
    else if (!verify(null, manifestBytes, createPublicKey(key.ed25519PublicKeyPem), signature))
      problems.push('signature does not match the manifest (wrong key, or the manifest changed)');
  } else problems.push(`unknown signature algorithm ${String(sig.alg)}`);
  return {
    ok: problems.length === 0,
    alg: sig.alg,
    key_id: sig.key_id,
    files: manifest.files?.map((f) => f.name) ?? [],
    problems,
  };
}

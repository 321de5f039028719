/**
 * `flowtrail evidence verify BUNDLE`: checks an evidence bundle downloaded from
 * GET /api/v1/investigations/{id}/evidence — the archive's structure, the SHA-256 of every file
 * against the manifest, and the manifest's signature. The key comes from `--hmac-key-file` or
 * `--public-key` (an Ed25519 SPKI PEM), else from the config (FLOWTRAIL_CONFIG: api.evidence;
 * the public key is derived from a configured Ed25519 private key). Exit 0 when it verifies, 1
 * when it does not, 2 on a usage error.
 * @module
 */

import { createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type EvidenceVerifyKey, verifyBundle } from '../../common/evidence/bundle.ts';
import { serviceConfig } from '../env.ts';
import { parseCommandArgs } from './args.ts';

/** The command's usage text (`flowtrail evidence --help`). */
export const usage = `usage: flowtrail evidence verify BUNDLE [--hmac-key-file FILE | --public-key PEMFILE] [--json]

Checks an evidence bundle: every file's SHA-256 against the signed manifest, and the signature.
Without a key option the key comes from the config (FLOWTRAIL_CONFIG, api.evidence).
`;

function keyFromConfig(): EvidenceVerifyKey {
  const { config } = serviceConfig();
  const e = config.api.evidence;
  return {
    hmacKey: e.hmacKey,
    ed25519PublicKeyPem: e.ed25519PrivateKeyPem
      ? createPublicKey(e.ed25519PrivateKeyPem).export({ type: 'spki', format: 'pem' }).toString()
      : undefined,
  };
}

/** Runs the command; returns the exit code. */
export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('evidence', argv, {
    'hmac-key-file': { type: 'string' },
    'public-key': { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(usage);
    return 0;
  }
  const [sub, file, ...extra] = positionals;
  if (sub !== 'verify' || !file || extra.length) {
    process.stderr.write(usage);
    return 2;
  }
  const key: EvidenceVerifyKey =
    values['hmac-key-file'] || values['public-key']
      ? {
          // A key file's trailing newline is not part of the key.
          hmacKey: values['hmac-key-file']
            ? readFileSync(values['hmac-key-file'], 'utf8').replace(/\r?\n$/, '')
            : undefined,
          ed25519PublicKeyPem: values['public-key'] ? readFileSync(values['public-key'], 'utf8') : undefined,
        }
      : keyFromConfig();
  const result = verifyBundle(readFileSync(file), key);
  if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else if (result.ok)
    process.stdout.write(
      `verified: ${file} (${result.alg}, key ${result.key_id}); files: ${result.files.join(', ')}\n`,
    );
  else process.stdout.write(`NOT VERIFIED: ${file}\n${result.problems.map((p) => `  - ${p}\n`).join('')}`);
  return result.ok ? 0 : 1;
}

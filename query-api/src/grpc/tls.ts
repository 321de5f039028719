/**
 * TLS for the Hubble Observer API over stored history. The stock hubble CLI sends its only
 * credential (`--basic-auth-username/--basic-auth-password`) over TLS alone, so a Flowtrail
 * under access control must offer TLS on its gRPC port for `hubble observe` to work there.
 * Without the variables the port stays plaintext, as Hubble Relay's is by default.
 *
 * Environment (read by `flowtrail start` and `flowtrail api` alike):
 * - `FLOWTRAIL_GRPC_TLS_CERT`, `FLOWTRAIL_GRPC_TLS_KEY`: PEM server certificate (chain) and
 *   key; both or neither.
 * - `FLOWTRAIL_GRPC_TLS_CLIENT_CA`: optional PEM CA bundle; when set, clients must present a
 *   certificate it signed (mTLS). Tokens are still checked on every call.
 * @module
 */
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { ConfigError } from '../../../common/errors.ts';

/** How the gRPC port is secured: plaintext (h2c) or TLS, optionally requiring client certs. */
export type GrpcTlsConfig =
  | { readonly kind: 'plaintext' }
  | {
      readonly kind: 'tls';
      /** Path of the PEM certificate chain (`FLOWTRAIL_GRPC_TLS_CERT`). */
      readonly certPath: string;
      /** Path of the PEM private key (`FLOWTRAIL_GRPC_TLS_KEY`). */
      readonly keyPath: string;
      /** Path of the PEM CA bundle for client certificates, when they are required. */
      readonly clientCaPath: string | undefined;
    };

/** The plaintext default, shared so callers need not build it. */
export const plaintextGrpc: GrpcTlsConfig = Object.freeze({ kind: 'plaintext' });

/**
 * Reads the TLS variables; no file is opened here (so `--check` and tests stay cheap). Throws
 * ConfigError naming the variable when only one of cert and key is set, or a client CA is given
 * without them.
 */
export function grpcTlsFromEnv(env: Readonly<Record<string, unknown>>): GrpcTlsConfig {
  const text = (k: string) => (typeof env[k] === 'string' && env[k] !== '' ? (env[k] as string) : undefined);
  const cert = text('FLOWTRAIL_GRPC_TLS_CERT');
  const key = text('FLOWTRAIL_GRPC_TLS_KEY');
  const clientCa = text('FLOWTRAIL_GRPC_TLS_CLIENT_CA');
  if (cert && !key)
    throw new ConfigError('FLOWTRAIL_GRPC_TLS_KEY is required when FLOWTRAIL_GRPC_TLS_CERT is set');
  if (key && !cert)
    throw new ConfigError('FLOWTRAIL_GRPC_TLS_CERT is required when FLOWTRAIL_GRPC_TLS_KEY is set');
  if (!cert || !key) {
    if (clientCa) {
      throw new ConfigError(
        'FLOWTRAIL_GRPC_TLS_CLIENT_CA needs FLOWTRAIL_GRPC_TLS_CERT and FLOWTRAIL_GRPC_TLS_KEY (client certificates need TLS)',
      );
    }
    return plaintextGrpc;
  }
  return Object.freeze({ kind: 'tls', certPath: cert, keyPath: key, clientCaPath: clientCa });
}

function readPem(path: string, variable: string): Buffer {
  let pem: Buffer;
  try {
    pem = readFileSync(path);
  } catch (err) {
    throw new ConfigError(`${variable}: cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  if (!pem.includes('-----BEGIN ')) throw new ConfigError(`${variable}: ${path} is not a PEM file`);
  return pem;
}

/**
 * Server credentials for a TLS config: reads the PEM files (at listen time, so a renewed
 * certificate is picked up on restart) and reports an unreadable or malformed one as a
 * ConfigError naming its variable.
 */
export function grpcServerCredentials(tls: GrpcTlsConfig): grpc.ServerCredentials {
  if (tls.kind === 'plaintext') return grpc.ServerCredentials.createInsecure();
  const cert = readPem(tls.certPath, 'FLOWTRAIL_GRPC_TLS_CERT');
  const key = readPem(tls.keyPath, 'FLOWTRAIL_GRPC_TLS_KEY');
  const ca = tls.clientCaPath ? readPem(tls.clientCaPath, 'FLOWTRAIL_GRPC_TLS_CLIENT_CA') : null;
  try {
    return grpc.ServerCredentials.createSsl(ca, [{ cert_chain: cert, private_key: key }], ca !== null);
  } catch (err) {
    throw new ConfigError(
      `FLOWTRAIL_GRPC_TLS_CERT/FLOWTRAIL_GRPC_TLS_KEY: invalid certificate or key: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

/**
 * Where the Nomad API is and how to authenticate, from the same environment variables the
 * `nomad` CLI reads, so an operator configures Flowtrail the way they configure Nomad.
 * @module
 */

/** Connection settings for the Nomad HTTP API. */
export interface NomadConfig {
  /** Base URL, e.g. `http://127.0.0.1:4646` (`NOMAD_ADDR`). */
  address: string;
  /** ACL token secret (`NOMAD_TOKEN`); never logged. Empty when ACLs are off. */
  token: string;
  /** Region (`NOMAD_REGION`); empty means the agent's region. */
  region: string;
  /** Path to a PEM CA bundle for TLS (`NOMAD_CACERT`); empty means the system roots. */
  caCertFile: string;
  /** Per-request timeout for non-blocking calls, in milliseconds. Default 15000. */
  requestTimeoutMs: number;
  /** Blocking-query wait, in seconds (Nomad caps it at 300). Default 60. */
  blockingWaitSeconds: number;
}

/** Reads NOMAD_ADDR, NOMAD_TOKEN, NOMAD_REGION and NOMAD_CACERT; undefined when NOMAD_ADDR is unset. */
export function nomadConfigFromEnv(env: {
  NOMAD_ADDR?: string | undefined;
  NOMAD_TOKEN?: string | undefined;
  NOMAD_REGION?: string | undefined;
  NOMAD_CACERT?: string | undefined;
}): NomadConfig | undefined {
  const address = env['NOMAD_ADDR'];
  if (!address) return undefined;
  return {
    address: address.replace(/\/+$/, ''),
    token: (env['NOMAD_TOKEN'] ?? '').trim(),
    region: env['NOMAD_REGION'] ?? '',
    caCertFile: env['NOMAD_CACERT'] ?? '',
    requestTimeoutMs: 15_000,
    blockingWaitSeconds: 60,
  };
}

/**
 * Hubble target addresses and TLS options, as given in `HUBBLE_SERVER` (a comma list of
 * `host:port` or `unix:/path`) and `HUBBLE_TLS_*`.
 * @module
 */
import { ConfigError } from '../../../common/errors.ts';

/** TLS settings for Hubble connections; all paths are PEM files. */
export interface HubbleTlsConfig {
  ca?: string;
  cert?: string;
  key?: string;
  /** Overrides the name the server certificate must carry (e.g. `*.default.hubble-grpc.cilium.io`). */
  serverName?: string;
}

/** Parses `HUBBLE_SERVER` into gRPC targets, rejecting malformed entries with a reason. */
export function parseHubbleTargets(list: string): string[] {
  const targets = list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (targets.length === 0)
    throw new ConfigError('HUBBLE_SERVER is empty: give host:port or unix:/path entries');
  for (const t of targets) {
    if (t.startsWith('unix:')) {
      if (t.length <= 5) throw new ConfigError(`HUBBLE_SERVER entry "${t}": unix: needs a socket path`);
      continue;
    }
    const m = /^(\[[0-9a-fA-F:.]+\]|[^:\s/]+):(\d{1,5})$/.exec(t);
    if (!m || Number(m[2]) > 65535) {
      throw new ConfigError(
        `HUBBLE_SERVER entry "${t}": expected host:port (e.g. hubble-relay:4245) or unix:/path`,
      );
    }
  }
  return targets;
}

/** Reads TLS settings from the environment. */
export function hubbleTlsFromEnv(env: {
  HUBBLE_TLS_CA?: string | undefined;
  HUBBLE_TLS_CERT?: string | undefined;
  HUBBLE_TLS_KEY?: string | undefined;
  HUBBLE_TLS_SERVER_NAME?: string | undefined;
}): HubbleTlsConfig | undefined {
  const tls: HubbleTlsConfig = {
    ca: env['HUBBLE_TLS_CA'] || undefined,
    cert: env['HUBBLE_TLS_CERT'] || undefined,
    key: env['HUBBLE_TLS_KEY'] || undefined,
    serverName: env['HUBBLE_TLS_SERVER_NAME'] || undefined,
  };
  if (Boolean(tls.cert) !== Boolean(tls.key)) {
    throw new ConfigError(
      'HUBBLE_TLS_CERT and HUBBLE_TLS_KEY must be given together (client certificate and its key)',
    );
  }
  return tls.ca || tls.cert || tls.key || tls.serverName ? tls : undefined;
}

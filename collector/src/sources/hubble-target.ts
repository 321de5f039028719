/**
 * Hubble target addresses and TLS options, as given in `HUBBLE_SERVER` (a comma list of
 * `host:port` or `unix:/path`) and `HUBBLE_TLS_*`.
 * @module
 */
import { readFileSync } from 'node:fs';
import { ChannelCredentials } from '@grpc/grpc-js';
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
export function hubbleTlsFromEnv(env: NodeJS.ProcessEnv = process.env): HubbleTlsConfig | undefined {
  const tls: HubbleTlsConfig = {
    ca: env['HUBBLE_TLS_CA'] || undefined,
    cert: env['HUBBLE_TLS_CERT'] || undefined,
    key: env['HUBBLE_TLS_KEY'] || undefined,
    serverName: env['HUBBLE_TLS_SERVER_NAME'] || undefined,
  };
  return tls.ca || tls.cert || tls.key || tls.serverName ? tls : undefined;
}

/** Builds channel credentials and options for a target. */
export function hubbleCredentials(tls: HubbleTlsConfig | undefined): {
  credentials: ChannelCredentials;
  options: Record<string, string | number>;
} {
  const options: Record<string, string | number> = {
    'grpc.max_receive_message_length': 16 << 20,
    'grpc.keepalive_time_ms': 30_000,
    'grpc.keepalive_timeout_ms': 10_000,
    // A 1 MiB HTTP/2 window instead of 64 KiB: one GetFlows stream carries every flow, and the
    // default window makes the server wait for window updates many times a second.
    'grpc-node.flow_control_window': 1 << 20,
  };
  if (!tls) return { credentials: ChannelCredentials.createInsecure(), options };
  if (Boolean(tls.cert) !== Boolean(tls.key)) {
    throw new ConfigError(
      'HUBBLE_TLS_CERT and HUBBLE_TLS_KEY must be given together (client certificate and its key)',
    );
  }
  const read = (p: string | undefined, what: string) => {
    if (!p) return null;
    try {
      return readFileSync(p);
    } catch (err) {
      throw new ConfigError(`cannot read ${what} ${p}: ${(err as Error).message}`);
    }
  };
  if (tls.serverName) options['grpc.ssl_target_name_override'] = tls.serverName;
  return {
    credentials: ChannelCredentials.createSsl(
      read(tls.ca, 'HUBBLE_TLS_CA'),
      read(tls.key, 'HUBBLE_TLS_KEY'),
      read(tls.cert, 'HUBBLE_TLS_CERT'),
    ),
    options,
  };
}

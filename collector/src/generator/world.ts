/**
 * @module The outside world the generated workloads talk to: a few well-known names resolved to
 * documentation-range addresses (RFC 5737), the platform DNS resolver, and abuse destinations.
 */

/** A named destination outside the cluster. */
export interface WorldService {
  readonly name: string;
  readonly ip: string;
  readonly port: number;
  readonly proto: 'tcp' | 'udp';
}

/** Where workloads go on the internet in normal operation. */
export const WORLD_SERVICES: readonly WorldService[] = [
  { name: 'api.stripe.com', ip: '203.0.113.10', port: 443, proto: 'tcp' },
  { name: 'api.github.com', ip: '203.0.113.20', port: 443, proto: 'tcp' },
  { name: 'registry.npmjs.org', ip: '203.0.113.30', port: 443, proto: 'tcp' },
  { name: 's3.eu-west-1.amazonaws.com', ip: '198.51.100.40', port: 443, proto: 'tcp' },
  { name: 'hooks.slack.com', ip: '198.51.100.50', port: 443, proto: 'tcp' },
  { name: 'api.sendgrid.com', ip: '198.51.100.60', port: 443, proto: 'tcp' },
  { name: 'pypi.org', ip: '203.0.113.70', port: 443, proto: 'tcp' },
  { name: 'time.cloudflare.com', ip: '198.51.100.123', port: 123, proto: 'udp' },
];

/** Names that do not resolve (NXDOMAIN answers). */
export const NX_NAMES: readonly string[] = ['telemetry.internal.invalid', 'old-api.acme.example'];

/** The platform DNS resolver every workload uses (a Nomad system job). */
export const DNS_RESOLVER = { ip: '10.42.0.53', job: 'dns', group: 'coredns' } as const;

/** The cloud instance-metadata address probed by credential thieves. */
export const METADATA_IP = '169.254.169.254';

/** Mining pools (names and ports from Falco's miner lists). */
export const MINER_POOLS: readonly WorldService[] = [
  { name: 'pool.minexmr.com', ip: '192.0.2.33', port: 4444, proto: 'tcp' },
  { name: 'xmr.pool.minergate.com', ip: '192.0.2.34', port: 3333, proto: 'tcp' },
];

/** Mail servers targeted by SMTP spam. */
export const SMTP_TARGETS: readonly WorldService[] = [
  { name: 'mx1.mail.example.net', ip: '198.51.100.25', port: 25, proto: 'tcp' },
  { name: 'smtp.mail.example.org', ip: '198.51.100.26', port: 587, proto: 'tcp' },
  { name: 'mail.example.com', ip: '203.0.113.25', port: 465, proto: 'tcp' },
];

/** The public address a node's egress is SNATed to (what an outside victim sees). */
export function nodePublicIp(node: string): string {
  let h = 0;
  for (let i = 0; i < node.length; i++) h = (h * 31 + node.charCodeAt(i)) >>> 0;
  return `192.0.2.${100 + (h % 100)}`;
}

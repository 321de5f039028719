/**
 * @module The words of Hubble's filter language, once: protocol names, event type and sub-type names,
 * reserved identities, verdicts, traffic directions. Pure data with no imports, so the UI can show the
 * same vocabulary the API accepts (ui/ imports this file; it must stay free of server code).
 */

/** L4 protocol names (`--protocol`) and the `l4_protocol` column values each selects. */
export const L4_PROTOCOLS: Readonly<Record<string, readonly string[]>> = {
  tcp: ['TCP'],
  udp: ['UDP'],
  sctp: ['SCTP'],
  icmp: ['ICMPv4', 'ICMPv6'],
  icmpv4: ['ICMPv4'],
  icmpv6: ['ICMPv6'],
  vrrp: ['VRRP'],
  igmp: ['IGMP'],
};

/** L7 protocol names (`--protocol`), equal to the `l7_protocol` column values. */
export const L7_PROTOCOLS = ['dns', 'http', 'kafka'] as const;

/** Every protocol name `--protocol` accepts (case-insensitive). */
export const PROTOCOL_NAMES: readonly string[] = [...Object.keys(L4_PROTOCOLS), ...L7_PROTOCOLS];

/** Cilium monitor message types by the names `hubble observe --type` takes (monitorAPI.MessageTypeNames). */
export const EVENT_TYPES: Readonly<Record<string, number>> = {
  drop: 1,
  debug: 2,
  capture: 3,
  trace: 4,
  'policy-verdict': 5,
  recorder: 6,
  'trace-sock': 7,
  l7: 129,
  agent: 130,
};

/** Trace observation points: sub-types of `trace` (monitorAPI.TraceObservationPoints). */
export const TRACE_SUB_TYPES: Readonly<Record<string, number>> = {
  'to-endpoint': 0,
  'to-proxy': 1,
  'to-host': 2,
  'to-stack': 3,
  'to-overlay': 4,
  'from-endpoint': 5,
  'from-proxy': 6,
  'from-host': 7,
  'from-stack': 8,
  'from-overlay': 9,
  'from-network': 10,
  'to-network': 11,
  'from-crypto': 12,
  'to-crypto': 13,
};

/** Agent event sub-types as the CLI spells them. */
export const AGENT_SUB_TYPES: Readonly<Record<string, number>> = {
  unspecified: 0,
  message: 1,
  'agent-started': 2,
  'policy-updated': 3,
  'policy-deleted': 4,
  'endpoint-regenerate-success': 5,
  'endpoint-regenerate-failure': 6,
  'endpoint-created': 7,
  'endpoint-deleted': 8,
  'ipcache-upserted': 9,
  'ipcache-deleted': 10,
};

/** Reserved security identities by name (`--identity world`). */
export const RESERVED_IDENTITIES: Readonly<Record<string, number>> = {
  host: 1,
  world: 2,
  unmanaged: 3,
  health: 4,
  init: 5,
  'remote-node': 6,
  'kube-apiserver': 7,
  ingress: 8,
  'world-ipv4': 9,
  'world-ipv6': 10,
};

/** Verdict names (`--verdict`), as in the flows table's `verdict` enum. */
export const VERDICTS = [
  'FORWARDED',
  'DROPPED',
  'ERROR',
  'AUDIT',
  'REDIRECTED',
  'TRACED',
  'TRANSLATED',
] as const;

/** Traffic directions (`--traffic-direction`). */
export const TRAFFIC_DIRECTIONS = ['ingress', 'egress'] as const;

/** TCP flag names (`--tcp-flags syn,ack`) with their bit in the `tcp_flags` column. */
export const TCP_FLAG_BITS: Readonly<Record<string, number>> = {
  FIN: 1,
  SYN: 2,
  RST: 4,
  PSH: 8,
  ACK: 16,
  URG: 32,
  ECE: 64,
  CWR: 128,
  NS: 256,
};

/**
 * @module The words of Hubble's filter language, once: protocol names, event type and sub-type names,
 * reserved identities, verdicts, traffic directions. Pure data with no imports, so the UI can show the
 * same vocabulary the API accepts (ui/ imports this file; it must stay free of server code).
 */
import { addressScopes } from '../flow/attribution.ts';

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

/** How a filter word reads: its documentation and whether it takes a value. */
export interface FilterWord {
  readonly doc: string;
  /** A switch (`--encrypted`): no value. */
  readonly flag?: boolean;
  /** Flowtrail's own word (not a `hubble observe` flag). */
  readonly flowtrail?: boolean;
}

const w = (doc: string, extra: Partial<FilterWord> = {}): FilterWord => ({ doc, ...extra });

/**
 * Every filter word, in `hubble observe`'s vocabulary plus Flowtrail's. Repeating a word ORs its values;
 * different words are ANDed (on the same end, for the "either end" words, as the CLI sends them).
 */
export const FILTER_WORDS = {
  uuid: w('Flow UUID.'),
  ip: w('Address or CIDR of either end.'),
  'from-ip': w('Source address or CIDR.'),
  'to-ip': w('Destination address or CIDR.'),
  'snat-ip': w('Post-SNAT source address or CIDR.'),
  ipv4: w('IPv4 flows only.', { flag: true }),
  ipv6: w('IPv6 flows only.', { flag: true }),
  'ip-version': w('IP version: 4 or 6 (v4, ipv4, …).'),
  port: w('L4 port of either end.'),
  'from-port': w('Source L4 port.'),
  'to-port': w('Destination L4 port.'),
  protocol: w('tcp, udp, sctp, icmp, icmpv4, icmpv6, vrrp, igmp, dns, http, kafka.'),
  verdict: w('FORWARDED, DROPPED, ERROR, AUDIT, REDIRECTED, TRACED, TRANSLATED.'),
  'drop-reason-desc': w('Drop reason name (POLICY_DENIED).'),
  type: w('Event type: drop, trace[:to-endpoint], l7, policy-verdict, … or numbers (4:0).'),
  'traffic-direction': w('ingress or egress.'),
  label: w('Label selector on either end (k8s:app=web, k8s:app in (a,b), !key, reserved:world).'),
  'from-label': w('Label selector on the source.'),
  'to-label': w('Label selector on the destination.'),
  namespace: w('Kubernetes namespace of either end (applied to the pod/service filters).'),
  'from-namespace': w('Kubernetes namespace of the source.'),
  'to-namespace': w('Kubernetes namespace of the destination.'),
  'all-namespaces': w('Endpoints in any namespace (with pod/service filters).', { flag: true }),
  'from-all-namespaces': w('Source in any namespace.', { flag: true }),
  'to-all-namespaces': w('Destination in any namespace.', { flag: true }),
  pod: w('[namespace/]pod-name-prefix of either end; a bare name means the default namespace, as in Hubble.'),
  'from-pod': w('[namespace/]pod-name-prefix of the source.'),
  'to-pod': w('[namespace/]pod-name-prefix of the destination.'),
  service: w('[namespace/]service-name-prefix of either end.'),
  'from-service': w('[namespace/]service of the source.'),
  'to-service': w('[namespace/]service of the destination.'),
  workload: w('Workload [kind/]name of either end.'),
  'from-workload': w('Workload of the source.'),
  'to-workload': w('Workload of the destination.'),
  identity: w('Security identity of either end (number or reserved name: world, host, …).'),
  'from-identity': w('Security identity of the source.'),
  'to-identity': w('Security identity of the destination.'),
  fqdn: w('DNS name of either end; * matches within one label (never a dot).'),
  'from-fqdn': w('DNS name of the source.'),
  'to-fqdn': w('DNS name of the destination.'),
  cluster: w('Cluster name of either end.'),
  'from-cluster': w('Cluster of the source.'),
  'to-cluster': w('Cluster of the destination.'),
  'node-name': w('Observing node: [cluster/]name with * globs; without cluster/, the default cluster.'),
  'node-label': w('Label selector on the observing node.'),
  'tcp-flags': w('TCP flags that must all be set: syn, ack, fin, … (comma-separated).'),
  'http-status': w('HTTP status (404) or prefix (5+, 40+).'),
  'http-method': w('HTTP method.'),
  'http-path': w('Regular expression (RE2) on the HTTP URL path.'),
  'http-url': w('Regular expression (RE2) on the HTTP URL.'),
  'http-header': w('HTTP header name:value (exact).'),
  'trace-id': w('Trace id.'),
  interface: w('Network interface name.'),
  encrypted: w('Encrypted flows only.', { flag: true }),
  unencrypted: w('Unencrypted flows only.', { flag: true }),
  'dns-query': w('Regular expression (RE2) on the DNS query name (the FlowFilter field dns_query).', {
    flowtrail: true,
  }),
  tenant: w('Tenant owning either end.', { flowtrail: true }),
  account: w('Account owning either end.', { flowtrail: true }),
  job: w('Nomad job of either end.', { flowtrail: true }),
  alloc: w('Nomad allocation of either end: id, id prefix (8+ characters) or allocation name.', {
    flowtrail: true,
  }),
  'attribution-conflict': w(
    'true: flows where netreap labels and the Nomad ownership interval disagreed about an end (see `conflict` on the end); false: the others.',
    { flowtrail: true },
  ),
  scope: w(`Address scope of either end (${addressScopes.filter((s) => s !== 'unknown').join(', ')}).`, {
    flowtrail: true,
  }),
  // The owner words for one end, as Hubble's from-/to- words (a series of "source account X" drills into
  // exactly its flows).
  'from-tenant': w('Tenant owning the source.', { flowtrail: true }),
  'to-tenant': w('Tenant owning the destination.', { flowtrail: true }),
  'from-account': w('Account owning the source.', { flowtrail: true }),
  'to-account': w('Account owning the destination.', { flowtrail: true }),
  'from-job': w('Nomad job of the source.', { flowtrail: true }),
  'to-job': w('Nomad job of the destination.', { flowtrail: true }),
  'from-alloc': w('Nomad allocation of the source (id, 8+ character id prefix or name).', {
    flowtrail: true,
  }),
  'to-alloc': w('Nomad allocation of the destination (id, 8+ character id prefix or name).', {
    flowtrail: true,
  }),
  'from-scope': w('Address scope of the source.', { flowtrail: true }),
  'to-scope': w('Address scope of the destination.', { flowtrail: true }),
} as const satisfies Record<string, FilterWord>;

/** A filter word. */
export type FilterWordName = keyof typeof FILTER_WORDS;

/** Older REST spellings kept working: alias → the word it means. */
export const FILTER_ALIASES: Readonly<Record<string, FilterWordName>> = {
  node: 'node-name',
  'drop-reason': 'drop-reason-desc',
};

/**
 * The flow filters the API and the CLI accept, in Hubble's vocabulary plus Flowtrail's
 * attribution fields: one row per query parameter, with the schema of one value and a
 * description (which also feeds the OpenAPI document). Repeated values of one filter are ORed,
 * different filters ANDed, as in `hubble observe`.
 * @module
 */
import type { z } from 'zod';
import {
  boolValue,
  directionValue,
  dropReasonValue,
  eventTypeValue,
  fqdnValue,
  httpMethodValue,
  httpStatusValue,
  identityValue,
  ipValue,
  labelValue,
  nameValue,
  nodeValue,
  podValue,
  portValue,
  protocolValue,
  regexValue,
  scopeValue,
  verdictValue,
} from './values.ts';

/** Every flow filter: parameter name → value schema and description. */
export const flowFilterCatalog = {
  ip: {
    value: ipValue,
    doc: 'Address or CIDR of either end, including the post-SNAT source (source_xlated).',
  },
  'from-ip': { value: ipValue, doc: 'Source address or CIDR.' },
  'to-ip': { value: ipValue, doc: 'Destination address or CIDR.' },
  port: { value: portValue, doc: 'L4 port of either end.' },
  'from-port': { value: portValue, doc: 'Source L4 port.' },
  'to-port': { value: portValue, doc: 'Destination L4 port.' },
  protocol: {
    value: protocolValue,
    doc: 'tcp, udp, sctp, icmp, icmpv4, icmpv6, vrrp, igmp, dns, http, kafka.',
  },
  verdict: { value: verdictValue, doc: 'FORWARDED, DROPPED, ERROR, AUDIT, REDIRECTED, TRACED, TRANSLATED.' },
  'drop-reason': { value: dropReasonValue, doc: 'Drop reason name (POLICY_DENIED) or number (133).' },
  type: {
    value: eventTypeValue,
    doc: 'Event type as hubble -t takes it: drop, trace[:to-endpoint], l7, policy-verdict…',
  },
  'traffic-direction': { value: directionValue, doc: 'ingress or egress.' },
  label: {
    value: labelValue,
    doc: 'Label selector on either end (k8s:app=web, netreap:nomad.job_id=api, !key).',
  },
  'from-label': { value: labelValue, doc: 'Label selector on the source.' },
  'to-label': { value: labelValue, doc: 'Label selector on the destination.' },
  identity: { value: identityValue, doc: 'Security identity of either end (number or reserved name).' },
  node: { value: nodeValue, doc: 'Observing node name; * is a wildcard.' },
  namespace: { value: nameValue, doc: 'Kubernetes or Nomad namespace of either end.' },
  pod: { value: podValue, doc: '[namespace/]pod-name-prefix of either end.' },
  fqdn: { value: fqdnValue, doc: 'DNS name of either end; * is a wildcard.' },
  'http-method': { value: httpMethodValue, doc: 'HTTP method.' },
  'http-status': { value: httpStatusValue, doc: 'HTTP status (404) or prefix (5+).' },
  'http-path': { value: regexValue, doc: 'Regular expression (RE2) on the HTTP URL path.' },
  'dns-query': { value: regexValue, doc: 'Regular expression (RE2) on the DNS query name.' },
  tenant: { value: nameValue, doc: 'Tenant owning either end.' },
  account: { value: nameValue, doc: 'Account owning either end.' },
  job: { value: nameValue, doc: 'Nomad job of either end.' },
  alloc: { value: nameValue, doc: 'Nomad allocation of either end: id, id prefix or allocation name.' },
  scope: { value: scopeValue, doc: 'Address scope of either end (world, private, metadata, other-tenant…).' },
  'attribution-conflict': {
    value: boolValue,
    doc: 'true: flows where netreap labels and the Nomad ownership interval disagreed about an end (see `conflict` on the end); false: the others.',
  },
} as const;

/** A flow filter parameter name. */
export type FlowFilterName = keyof typeof flowFilterCatalog;

/** Parsed filters: for each given filter, its values (ORed). Absent filters are undefined. */
export type FlowFilters = {
  -readonly [K in FlowFilterName]?: z.output<(typeof flowFilterCatalog)[K]['value']>[];
};

/** The filter names, in catalog order. */
export const flowFilterNames = Object.keys(flowFilterCatalog) as FlowFilterName[];

/**
 * What a tenant may see of a flow's other end. Owner objects are already withheld for ends the
 * tenant doesn't own (flow-rows.ts `visible`), but the Flow itself carries identifying detail of
 * its peer: Cilium labels (`nomad:tenant=…`, `netreap:nomad.job_id=…`, `k8s:…`), namespace, pod,
 * workloads and service. For an end not owned by the caller's tenant those are removed; the
 * address, ports, identity number, `reserved:` labels (world, host…) and DNS names stay, since an
 * investigation of one's own traffic needs to know where it went.
 * @module
 */
import type { Endpoint, Flow } from '../../../proto/gen/flow/flow.ts';
import type { Principal } from './principal.ts';

/** Which ends of a flow the caller's tenant owns. */
export interface OwnedEnds {
  source: boolean;
  destination: boolean;
}

function redactEndpoint(e: Endpoint | undefined): Endpoint | undefined {
  if (!e) return e;
  return {
    ...e,
    namespace: '',
    pod_name: '',
    workloads: [],
    labels: e.labels.filter((l) => l.startsWith('reserved:')),
  };
}

/** The flow as `principal` may see it (the same object when nothing must be hidden). */
export function redactFlow(flow: Flow, principal: Principal, owned: OwnedEnds): Flow {
  if (principal.role !== 'tenant' || (owned.source && owned.destination)) return flow;
  const out: Flow = { ...flow };
  if (!owned.source) {
    out.source = redactEndpoint(flow.source);
    out.source_service = undefined;
  }
  if (!owned.destination) {
    out.destination = redactEndpoint(flow.destination);
    out.destination_service = undefined;
  }
  return out;
}

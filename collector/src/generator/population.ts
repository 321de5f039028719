/**
 * @module Who the generated traffic belongs to: Nomad allocations with a CNI address, labelled the way
 * Cosmonic's netreap labels their Cilium endpoints (shared/reference/hubble-cli-netreap.md §B):
 *
 *   netreap:nomad.job_id=<job>  netreap:nomad.namespace=<ns>  netreap:nomad.task_group_id=<group>
 *   nomad:tenant=<tenant>       nomad:account_id=<account>    (job meta → `nomad:<key>=<value>`)
 *
 * The demo's Nomad stand-in implements `Population` so the generator and the ownership tracker see the
 * same allocations; `createStaticPopulation()` is the built-in fallback.
 */

/** One workload address (a Nomad allocation's CNI address) as the generator needs it. */
export interface WorkloadEndpoint {
  /** The allocation's CNI address (`NetworkStatus.Address`). */
  readonly ip: string;
  readonly tenant: string;
  readonly account: string;
  /** The Nomad namespace. */
  readonly namespace: string;
  readonly job: string;
  /** The task group name. */
  readonly group: string;
  /** The Nomad client node the allocation runs on; becomes the flow's node_name. */
  readonly node: string;
  /** Cilium endpoint labels; derived with `netreapLabels()` when absent. */
  readonly labels?: readonly string[];
}

/**
 * The set of live workload endpoints. Implementations should return the same array object while nothing
 * changed: the generator caches per-endpoint data and rebuilds only when the reference changes.
 */
export interface Population {
  endpoints(): readonly WorkloadEndpoint[];
}

/** The labels netreap would put on this endpoint's Cilium identity, in Cilium's sorted order. */
export function netreapLabels(ep: Omit<WorkloadEndpoint, 'labels' | 'ip' | 'node'>): string[] {
  return [
    `netreap:nomad.job_id=${ep.job}`,
    `netreap:nomad.namespace=${ep.namespace}`,
    `netreap:nomad.task_group_id=${ep.group}`,
    `nomad:account_id=${ep.account}`,
    `nomad:tenant=${ep.tenant}`,
  ].sort();
}

/** Options of the built-in population. */
export interface StaticPopulationOptions {
  /** Number of tenants (each with its own account and Nomad namespace). @default 4 */
  tenants?: number;
  /** Jobs per tenant. @default 3 */
  jobsPerTenant?: number;
  /** Allocations per job. @default 2 */
  allocsPerJob?: number;
  /** Nomad client nodes the allocations are spread over. @default 3 */
  nodes?: number;
}

const TENANTS = ['acme', 'globex', 'initech', 'umbrella', 'hooli', 'stark', 'wayne', 'tyrell'];
const JOBS: readonly (readonly [job: string, group: string])[] = [
  ['web', 'frontend'],
  ['api', 'backend'],
  ['worker', 'jobs'],
  ['db', 'postgres'],
  ['cache', 'redis'],
];

/**
 * A fixed population of a few tenants × jobs spread over a few nodes, used when no Nomad stand-in drives
 * the generator. Addresses are 10.42.<node>.<n>, accounts `acc-<n>`, namespaces `<tenant>`.
 */
export function createStaticPopulation(options: StaticPopulationOptions = {}): Population {
  const tenants = Math.min(options.tenants ?? 4, TENANTS.length);
  const jobsPerTenant = Math.min(options.jobsPerTenant ?? 3, JOBS.length);
  const allocsPerJob = options.allocsPerJob ?? 2;
  const nodes = options.nodes ?? 3;
  const list: WorkloadEndpoint[] = [];
  const hostCounters = new Array<number>(nodes).fill(10);
  let i = 0;
  for (let t = 0; t < tenants; t++) {
    const tenant = TENANTS[t]!;
    for (let j = 0; j < jobsPerTenant; j++) {
      const [job, group] = JOBS[j]!;
      for (let a = 0; a < allocsPerJob; a++) {
        const nodeIndex = i++ % nodes;
        const host = hostCounters[nodeIndex]!;
        hostCounters[nodeIndex] = host + 1;
        const ep = {
          ip: `10.42.${nodeIndex + 1}.${host}`,
          tenant,
          account: `acc-${1001 + t}`,
          namespace: tenant,
          job: `${tenant}-${job}`,
          group,
          node: `nomad-client-${nodeIndex + 1}`,
        };
        list.push(Object.freeze({ ...ep, labels: Object.freeze(netreapLabels(ep)) }));
      }
    }
  }
  const frozen = Object.freeze(list);
  return { endpoints: () => frozen };
}

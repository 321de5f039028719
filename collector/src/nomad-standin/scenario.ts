/**
 * The scenario driver: a small multi-tenant cluster on the stand-in's state with allocation
 * churn and address reuse across tenants (a stopped allocation's address goes straight to a
 * new allocation of another tenant), which is exactly what point-in-time attribution must get
 * right. The demo's traffic generator asks `running()` which allocations run now, with their
 * addresses, tenancy and the netreap labels their Cilium endpoints would carry, so generated
 * flows match the Nomad history; tests compare the tracker with `history()`, the ground truth.
 * @module
 */
import { createStandinState, type StandinState } from './state.ts';

/** A tenant of the scenario: namespace `tenant-<name>`, tenant and account ids in meta. */
export interface ScenarioTenant {
  name: string;
  account: string;
}

/** Scenario options. */
export interface ScenarioOptions {
  /** Tenants, or how many to create. Default 3. */
  tenants?: number | readonly ScenarioTenant[];
  /** Jobs per tenant (one group `web` each). Default 2. */
  jobsPerTenant?: number;
  /** Churn actions (stop one allocation, start another on its address) per minute, for start(). Default 30. */
  churnPerMinute?: number;
  /** Address pool: an IPv4 CIDR (e.g. `10.42.0.0/28`) or explicit addresses. Default `172.16.0.0/28`. */
  addressPool?: string | readonly string[];
  /** Running allocations at any time (at most the pool size). Default: pool size − 2. */
  running?: number;
  /** Client nodes (host addresses 10.138.0.1…). Default 3. */
  nodes?: number;
  /** Also give each allocation an IPv6 address (fd00:a110::<n>). Default false. */
  ipv6?: boolean;
  /** PRNG seed, for repeatable churn. Default 1. */
  seed?: number;
  /** Share an existing stand-in state; default: a new one. */
  state?: StandinState;
}

/** A running allocation as the traffic generator needs it. */
export interface RunningWorkload {
  allocId: string;
  allocName: string;
  address: string;
  addressIPv6: string;
  tenant: string;
  account: string;
  namespace: string;
  job: string;
  group: string;
  node: string;
  nodeAddress: string;
  /** When it got its address (Unix ns): the start of its ownership interval. */
  since: bigint;
  /** The labels netreap puts on its Cilium endpoint (and Hubble copies into flows). */
  labels: string[];
}

/** One ground-truth ownership interval (end null while running). */
export interface TruthInterval {
  address: string;
  allocId: string;
  tenant: string;
  account: string;
  namespace: string;
  job: string;
  start: bigint;
  end: bigint | null;
}

/** The driver. */
export interface Scenario {
  readonly state: StandinState;
  readonly tenants: readonly ScenarioTenant[];
  /** Node name → host address. */
  readonly nodes: ReadonlyMap<string, string>;
  /** Creates namespaces, nodes, jobs and the first allocations (once; step() and start() call it). */
  setup(): void;
  /** One churn action: stops an allocation and starts one of another tenant on the same address. */
  step(): { stopped: RunningWorkload; started: RunningWorkload } | undefined;
  /** Churns on a timer at churnPerMinute. */
  start(): void;
  stop(): void;
  /** Allocations running now. */
  running(): RunningWorkload[];
  /** The workload holding `address` now, if any. */
  ownerOf(address: string): RunningWorkload | undefined;
  /** Every interval so far, in start order. */
  history(): TruthInterval[];
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Expands an IPv4 CIDR into its host addresses (network and broadcast excluded). */
export function expandPool(pool: string | readonly string[]): string[] {
  if (typeof pool !== 'string') return [...pool];
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(pool);
  if (!m) throw new Error(`address pool must be an IPv4 CIDR or a list: ${pool}`);
  const bits = Number(m[5]);
  const base = ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0;
  const size = 2 ** (32 - bits);
  const out: string[] = [];
  for (let i = 1; i < size - 1 && out.length < 65_536; i++) {
    const v = (base + i) >>> 0;
    out.push(`${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`);
  }
  return out;
}

/** Creates a scenario (no state changes until setup(), step() or start()). */
export function createScenario(opts: ScenarioOptions = {}): Scenario {
  const state = opts.state ?? createStandinState();
  const rand = mulberry32(opts.seed ?? 1);
  const tenants: ScenarioTenant[] =
    typeof opts.tenants === 'object'
      ? [...opts.tenants]
      : Array.from({ length: opts.tenants ?? 3 }, (_, i) => ({
          name: ['acme', 'globex', 'initech', 'umbrella', 'hooli', 'vandelay'][i] ?? `tenant${i}`,
          account: `acct-${String(1000 + i)}`,
        }));
  const jobsPerTenant = opts.jobsPerTenant ?? 2;
  const pool = expandPool(opts.addressPool ?? '172.16.0.0/28');
  const target = Math.min(opts.running ?? Math.max(1, pool.length - 2), pool.length);
  const nodes = new Map<string, string>();
  for (let i = 0; i < (opts.nodes ?? 3); i++) nodes.set(`nomad-${i + 1}`, `10.138.0.${i + 1}`);
  const live = new Map<string, RunningWorkload>(); // alloc id → workload
  const truth: TruthInterval[] = [];
  const free = [...pool];
  let ready = false;
  let timer: NodeJS.Timeout | undefined;
  let v6 = 0;

  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const nsOf = (t: ScenarioTenant) => `tenant-${t.name}`;
  const jobsOf = (t: ScenarioTenant) =>
    Array.from(
      { length: jobsPerTenant },
      (_, j) => `${t.name}-${['web', 'api', 'worker', 'cron'][j] ?? `job${j}`}`,
    );

  function launch(tenant: ScenarioTenant, address: string): RunningWorkload {
    const job = pick(jobsOf(tenant));
    const node = pick([...nodes.keys()]);
    const placed = state.placeAllocation({
      namespace: nsOf(tenant),
      jobId: job,
      group: 'web',
      nodeId: `node-${node}`,
    });
    const id = String(placed['ID']);
    const addressIPv6 = opts.ipv6 ? `fd00:a110::${(++v6).toString(16)}` : '';
    // The interval starts at the ModifyTime of the update that carried the address (read it
    // now: the allocation object is updated in place by the next mutation).
    const since = state.setAllocNetwork(id, address, addressIPv6)['ModifyTime'] as bigint;
    state.setAllocClientStatus(id, 'running');
    const w: RunningWorkload = {
      allocId: id,
      allocName: String(placed['Name']),
      address,
      addressIPv6,
      tenant: tenant.name,
      account: tenant.account,
      namespace: nsOf(tenant),
      job,
      group: 'web',
      node,
      nodeAddress: nodes.get(node)!,
      since,
      labels: [
        `netreap:nomad.job_id=${job}`,
        `netreap:nomad.namespace=${nsOf(tenant)}`,
        'netreap:nomad.task_group_id=web',
        `nomad:account_id=${tenant.account}`,
        `nomad:tenant=${tenant.name}`,
      ],
    };
    live.set(id, w);
    truth.push({
      address,
      allocId: id,
      tenant: tenant.name,
      account: tenant.account,
      namespace: w.namespace,
      job,
      start: w.since,
      end: null,
    });
    if (addressIPv6) truth.push({ ...truth.at(-1)!, address: addressIPv6 });
    return w;
  }

  function retire(w: RunningWorkload): void {
    state.stopAllocation(w.allocId);
    const done = state.setAllocClientStatus(w.allocId, 'complete');
    live.delete(w.allocId);
    for (const t of truth) if (t.allocId === w.allocId) t.end = done['ModifyTime'] as bigint;
  }

  const scenario: Scenario = {
    state,
    tenants,
    nodes,
    setup() {
      if (ready) return;
      ready = true;
      for (const [name, address] of nodes) state.upsertNode({ id: `node-${name}`, name, address });
      for (const t of tenants) {
        state.upsertNamespace(nsOf(t), { tenant: t.name, account_id: t.account }, `tenant ${t.name}`);
        for (const job of jobsOf(t)) {
          state.registerJob({
            namespace: nsOf(t),
            id: job,
            meta: { tenant: t.name, account_id: t.account },
            groups: [{ name: 'web' }],
          });
        }
      }
      for (let i = 0; i < target; i++) launch(tenants[i % tenants.length]!, free.shift()!);
    },
    step() {
      scenario.setup();
      const victims = [...live.values()];
      if (victims.length === 0) return undefined;
      const stopped = pick(victims);
      retire(stopped);
      const others = tenants.filter((t) => t.name !== stopped.tenant);
      const started = launch(others.length > 0 ? pick(others) : tenants[0]!, stopped.address);
      return { stopped, started };
    },
    start() {
      scenario.setup();
      if (timer) return;
      const period = 60_000 / Math.max(0.001, opts.churnPerMinute ?? 30);
      timer = setInterval(() => scenario.step(), period);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
    running() {
      return [...live.values()];
    },
    ownerOf(address) {
      for (const w of live.values()) if (w.address === address || w.addressIPv6 === address) return w;
      return undefined;
    },
    history() {
      return [...truth].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
    },
  };
  return scenario;
}

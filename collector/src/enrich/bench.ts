/**
 * Micro-benchmark of the enricher's hot path, for `flowtrail bench` (numbers come from here,
 * never from timed unit tests). It builds an ownership index of `addresses` addresses with
 * `intervalsPerAddress` reused intervals each (tenants alternate), then enriches `n` flows:
 * half the workload ends carry netreap labels, the rest resolve through ownership, and
 * destinations mix workloads, world and cloud metadata.
 * @module
 */
import { defaultTenancyConfig } from '../../../common/config/tenancy.ts';
import { createIntervalIndex } from '../../../common/ownership/interval-index.ts';
import { OPEN_END_NS, type OwnershipLookup } from '../../../common/ownership/types.ts';
import { createEnricher, type EnrichInput } from './index.ts';

/** Benchmark result. */
export interface EnrichBenchResult {
  flows: number;
  addresses: number;
  intervals: number;
  totalMs: number;
  /** Wall-clock time per flow. */
  nsPerFlow: number;
  /** CPU time (user + system) per flow: steadier than wall time on a shared machine. */
  cpuNsPerFlow: number;
  flowsPerSecond: number;
}

/** Runs the enricher over `n` synthetic flows and reports the time per flow. */
export function benchEnrich(
  n = 1_000_000,
  opts: { addresses?: number; intervalsPerAddress?: number } = {},
): EnrichBenchResult {
  const addresses = opts.addresses ?? 20_000;
  const per = opts.intervalsPerAddress ?? 8;
  const index = createIntervalIndex();
  const base = 1_700_000_000_000_000_000n;
  const slot = 60_000_000_000n; // one minute per holder
  const ips: string[] = [];
  for (let a = 0; a < addresses; a++) {
    const ip = `10.${(a >> 16) & 255}.${(a >> 8) & 255}.${a & 255}`;
    ips.push(ip);
    for (let k = 0; k < per; k++) {
      const tenant = `tenant-${(a + k) % 50}`;
      index.upsert({
        address: ip,
        kind: 'alloc',
        allocId: `alloc-${a}-${k}`,
        allocName: `job-${a % 200}.web[${k}]`,
        namespace: tenant,
        job: `job-${a % 200}`,
        group: 'web',
        nodeId: 'n1',
        nodeName: `node-${a % 30}`,
        tenant,
        account: `acct-${(a + k) % 50}`,
        start: base + BigInt(k) * slot,
        end: k === per - 1 ? OPEN_END_NS : base + BigInt(k + 1) * slot - 1_000_000_000n,
        nomadIndex: BigInt(k + 1),
      });
    }
  }
  const lookup: OwnershipLookup = {
    allocAt: (ip, t) => index.lookup(ip, t),
    nodeAt: () => undefined,
    namespaceTenancy: () => undefined,
  };
  const enricher = createEnricher({ tenancy: defaultTenancyConfig }, { ownership: lookup });
  const inputs: EnrichInput[] = [];
  const span = BigInt(per) * slot;
  for (let i = 0; i < 4096; i++) {
    const src = ips[(i * 7919) % addresses]!;
    const dstKind = i % 4;
    const dst =
      dstKind === 0 ? '93.184.216.34' : dstKind === 1 ? '169.254.169.254' : ips[(i * 104729) % addresses]!;
    const labelled = i % 2 === 0;
    const owner = index.lookup(src, base + ((BigInt(i) * 7_777_777_777n) % span));
    const tenant = owner?.tenant ?? 'tenant-1';
    inputs.push({
      timeNs: base + ((BigInt(i) * 7_777_777_777n) % span),
      sourceIp: src,
      destinationIp: dst,
      sourceLabels: labelled
        ? [
            `netreap:nomad.job_id=${owner?.job ?? 'job-1'}`,
            `netreap:nomad.namespace=${tenant}`,
            'netreap:nomad.task_group_id=web',
            `nomad:tenant=${tenant}`,
            `nomad:account_id=${owner?.account ?? 'acct-1'}`,
          ]
        : ['reserved:init'],
      destinationLabels: dstKind === 0 ? ['reserved:world'] : [],
    });
  }
  // Warm up the JIT, then measure.
  let sink = 0;
  for (let i = 0; i < 50_000; i++) sink += enricher.enrich(inputs[i & 4095]!).conflict.length;
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) sink += enricher.enrich(inputs[i & 4095]!).conflict.length;
  const elapsed = Number(process.hrtime.bigint() - t0);
  const cpu = process.cpuUsage(cpu0);
  if (sink < 0) console.log(sink);
  return {
    flows: n,
    addresses,
    intervals: index.size,
    totalMs: elapsed / 1e6,
    nsPerFlow: elapsed / n,
    cpuNsPerFlow: ((cpu.user + cpu.system) * 1000) / n,
    flowsPerSecond: Math.round((n / elapsed) * 1e9),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(benchEnrich(Number(process.argv[2] ?? 1_000_000))));
}

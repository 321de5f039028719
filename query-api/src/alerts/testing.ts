/**
 * Test helpers for the alert engine: describe flows in a few fields (addresses, ports, flags,
 * verdict, both ends' owners) and store them through the real collector path (intake and
 * ClickHouse sink), so rules run over rows exactly as the product writes them. Tests only.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { createIntake } from '../../../collector/src/pipeline.ts';
import {
  createClickHouseSink,
  defaultClickHouseSinkConfig,
} from '../../../collector/src/writer/clickhouse-sink.ts';
import type { Store } from '../../../common/clickhouse/index.ts';
import type { EndAttribution } from '../../../common/flow/attribution.ts';
import { unattributed } from '../../../common/flow/attribution.ts';
import { type IngestedFlow, ingestFlow } from '../../../common/flow/model.ts';
import { createLogger } from '../../../common/logger.ts';
import { createMetrics } from '../../../common/metrics.ts';
import { DropReason, Flow, L7FlowType, Verdict } from '../../../proto/gen/flow/flow.ts';
import { createIncidentStore } from './incident-store.ts';
import type { Incident } from './incidents.ts';

/** One flow of a scenario. */
export interface FlowSpec {
  /** Flow time, Unix ns. */
  timeNs: bigint;
  src: string;
  dst: string;
  sport?: number;
  dport?: number;
  proto?: 'TCP' | 'UDP';
  /** TCP flags set, e.g. ['SYN'] or ['RST', 'ACK']. */
  flags?: readonly ('SYN' | 'ACK' | 'RST' | 'FIN' | 'PSH')[];
  verdict?: 'FORWARDED' | 'DROPPED';
  dropReason?: keyof typeof DropReason;
  isReply?: boolean;
  srcOwner?: Partial<EndAttribution>;
  dstOwner?: Partial<EndAttribution>;
  destinationNames?: string[];
  /** Makes it a DNS L7 flow (a response when `ips` are given). */
  dns?: { query: string; ips?: string[] };
}

/** A tenant workload's attribution. */
export function owner(
  tenant: string,
  account: string,
  allocId: string,
  extra: Partial<EndAttribution> = {},
): Partial<EndAttribution> {
  return {
    tenant,
    account,
    allocId,
    allocName: `${tenant}-web[0]`,
    job: `${tenant}-web`,
    namespace: 'default',
    node: 'node-1',
    source: 'ownership',
    scope: 'same-tenant',
    ...extra,
  };
}

/** Builds the collector's view of a flow from a spec. */
export function ingestedFlow(s: FlowSpec): IngestedFlow {
  const flags = Object.fromEntries((s.flags ?? []).map((f) => [f, true]));
  const ports = { source_port: s.sport ?? 40_000, destination_port: s.dport ?? 0 };
  const flow = Flow.fromPartial({
    time: { seconds: s.timeNs / 1_000_000_000n, nanos: Number(s.timeNs % 1_000_000_000n) },
    verdict: s.verdict === 'DROPPED' ? Verdict.DROPPED : Verdict.FORWARDED,
    drop_reason_desc: s.dropReason ? DropReason[s.dropReason] : 0,
    IP: { source: s.src, destination: s.dst, ipVersion: s.src.includes(':') ? 2 : 1 },
    l4: s.proto === 'UDP' || s.dns ? { UDP: ports } : { TCP: { ...ports, flags } },
    is_reply: s.isReply,
    destination_names: s.destinationNames ?? [],
    ...(s.dns
      ? {
          l7: {
            type: s.dns.ips ? L7FlowType.RESPONSE : L7FlowType.REQUEST,
            dns: { query: s.dns.query, ips: s.dns.ips ?? [] },
          },
        }
      : {}),
  });
  return ingestFlow(flow, {
    nodeName: 'node-1',
    timeNs: s.timeNs,
    flowId: randomBytes(16),
    target: 'test',
    receivedAtNs: BigInt(Date.now()) * 1_000_000n,
    attribution: {
      source: { ...unattributed, scope: 'world', ...s.srcOwner },
      destination: { ...unattributed, scope: 'world', ...s.dstOwner },
      conflict: '',
    },
  });
}

/** Stores the flows through the collector's intake and ClickHouse sink. */
export async function storeFlows(store: Store, specs: readonly FlowSpec[]): Promise<void> {
  const sink = createClickHouseSink(defaultClickHouseSinkConfig, {
    store,
    logger: createLogger('alerts-test'),
    metrics: createMetrics('alerts_test_sink'),
  });
  sink.start();
  const intake = createIntake(sink);
  try {
    for (const s of specs) if (!intake.accept(ingestedFlow(s))) await intake.drained();
    await sink.flush();
  } finally {
    await sink.stop();
  }
}

/**
 * `n` made-up incidents of rule `rule` (tenants `tenant-0`…`tenant-{tenants-1}` in turn, one a
 * minute back from `lastNs`), written through the incident store as the engine writes them:
 * for tests that need more incidents than a scenario of flows can raise quickly.
 */
export async function storeSyntheticIncidents(
  store: Store,
  n: number,
  opts: { rule: string; lastNs: bigint; tenants?: number },
): Promise<Incident[]> {
  const min = 60_000_000_000n;
  const tenants = opts.tenants ?? 7;
  const now = Date.now();
  const incidents: Incident[] = Array.from({ length: n }, (_, i) => {
    const last = opts.lastNs - BigInt(i) * min;
    return {
      id: `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`,
      rule: opts.rule,
      severity: 'low',
      status: i % 3 === 0 ? 'resolved' : 'open',
      tenant: `tenant-${i % tenants}`,
      account: `account-${i % 11}`,
      allocId: '',
      allocName: '',
      namespace: '',
      job: '',
      node: '',
      summary: `synthetic incident ${i}`,
      firstSeenNs: last - min,
      lastSeenNs: last,
      count: 1 + (i % 5),
      detections: 1,
      peak: 1,
      countedUntilNs: last,
      windowStartNs: last - min,
      windowEndNs: last,
      sourceAddresses: [],
      destinationAddresses: [],
      ports: [],
      keys: [],
      samples: [],
      evidenceUrl: '',
      acknowledgedBy: '',
      acknowledgedAtMs: 0,
      resolvedBy: '',
      resolvedAtMs: 0,
      note: '',
      createdAtMs: now,
      updatedAtMs: now,
    };
  });
  const book = createIncidentStore(store);
  for (let i = 0; i < incidents.length; i += 1000) await book.saveFromEngine(incidents.slice(i, i + 1000));
  return incidents;
}

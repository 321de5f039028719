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

/**
 * Test helpers for the Kafka path: realistic flows from the traffic generator, shaped as the Hubble
 * gRPC source hands them to the intake (decoded Flow, its bytes, identity, attribution).
 * Production code never imports this module.
 * @module
 */

import { unattributed } from '../../../common/flow/attribution.ts';
import { flowIdFromUuid } from '../../../common/flow/flow-id.ts';
import { type IngestedFlow, ingestFlow, nowNs, timestampToNs } from '../../../common/flow/model.ts';
import { createGenerator } from '../generator/generator.ts';

/** `n` generated flows with their protobuf bytes, from `target`; deterministic for a seed. */
export function generatedFlows(n: number, opts: { seed?: number; target?: string } = {}): IngestedFlow[] {
  const gen = createGenerator({ seed: opts.seed ?? 7 });
  const out: IngestedFlow[] = [];
  while (out.length < n) {
    for (const ev of gen.take(Math.min(10_000, n - out.length))) {
      const flow = ev.response.flow;
      if (!flow) continue;
      out.push(
        ingestFlow(flow, {
          nodeName: ev.response.node_name || flow.node_name,
          timeNs: timestampToNs(flow.time) ?? nowNs(),
          flowId: flowIdFromUuid(flow.uuid),
          target: opts.target ?? 'test:4245',
          receivedAtNs: nowNs(),
          attribution: {
            source: {
              ...unattributed,
              tenant: 'acme',
              account: 'a-1',
              job: 'web',
              source: 'label',
              scope: 'world',
            },
            destination: unattributed,
            conflict: '',
          },
        }),
      );
    }
  }
  return out;
}

/** Hex flow ids, for comparing what was produced with what was stored. */
export function flowIdSet(flows: readonly IngestedFlow[]): Set<string> {
  return new Set(flows.map((f) => Buffer.from(f.flowId).toString('hex')));
}

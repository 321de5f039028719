/**
 * The collector core: every source hands decoded flows to `accept`, which attributes both ends
 * and passes the flow to the sink. Back-pressure travels the other way: `accept` returns false
 * when the sink is full and the source waits on `drained()` (pausing its gRPC stream or file).
 * @module
 */
import type { FlowAttribution } from '../../common/flow/attribution.ts';
import type { IngestedFlow, LostRecord } from '../../common/flow/model.ts';
import type { FlowWalk } from '../../common/schema/flow-wire.ts';
import type { FlowSink } from './writer/clickhouse-sink.ts';

/** Attributes one flow; the enricher of collector/src/enrich implements it. */
export type AttributeFlow = (flow: IngestedFlow) => FlowAttribution | undefined;

/** What sources see of the collector. */
export interface FlowIntake {
  /** Takes one flow. Returns false when the caller should await `drained()` before sending more. */
  accept(flow: IngestedFlow): boolean;
  /** Resolves when there is room again. */
  drained(): Promise<void>;
  /** Records a LostEvent reported by a source. */
  lost(record: LostRecord): void;
  /** The newest flow time already stored for a target (for `since` on reconnect). */
  lastStoredTime(target: string): bigint | undefined;
  /** How much of each flow to read before `accept` (the sink's `walk`). */
  readonly walk: FlowWalk;
}

/** Builds the intake over a sink, with optional attribution. */
export function createIntake(sink: FlowSink, attribute?: AttributeFlow): FlowIntake {
  return {
    accept(flow) {
      if (attribute && !flow.attribution) flow.attribution = attribute(flow);
      return sink.push(flow);
    },
    drained: () => sink.drained(),
    lost: (record) => sink.recordLost(record),
    lastStoredTime: (target) => sink.lastStoredTime(target),
    walk: sink.walk ?? 'whole',
  };
}

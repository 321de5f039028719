/**
 * What flows between the collector's stages: a decoded Hubble flow with the ingest metadata
 * and (once enriched) its attribution. Bytes and JSON exist only at the edges.
 *
 * 64-bit decision: times are `bigint` nanoseconds in memory and strings on ClickHouse's JSON wire.
 * @module
 */
import { Flow, type LostEvent } from '../../proto/gen/flow/flow.ts';
import type { Timestamp } from '../../proto/gen/google/protobuf/timestamp.ts';
import { timestampToNanos } from '../../proto/src/timestamp.ts';
import type { FlowAttribution } from './attribution.ts';

/**
 * A flow's bytes and ingest metadata: what a Kafka message carries and what a `flows` row is encoded
 * from (common/schema/flow-wire.ts). No Flow object travels.
 */
export interface FlowRecord {
  /** The Flow message's protobuf bytes, as received when the source had bytes. */
  pb: Uint8Array;
  /** The node that observed it (`GetFlowsResponse.node_name`, else `Flow.node_name`). */
  nodeName: string;
  /** Flow time in nanoseconds since the epoch. */
  timeNs: bigint;
  /** 16-byte identity: the uuid, or a hash of the flow's bytes when it has none. */
  flowId: Uint8Array;
  /** Which source produced it: a Hubble target address or a file path. */
  target: string;
  /** When Flowtrail received it, in nanoseconds. */
  receivedAtNs: bigint;
  /** Both ends' owners; filled by the enricher before the row is written. */
  attribution?: FlowAttribution;
}

/**
 * One flow on its way to storage from a source: the record plus the few fields attribution reads,
 * taken out of the bytes once (`peekFlow`).
 */
export interface IngestedFlow extends FlowRecord {
  /** `Flow.IP.source` ('' when none): what attribution reads of each end. */
  sourceIp: string;
  destinationIp: string;
  /** `Flow.source.labels`. */
  sourceLabels: readonly string[];
  destinationLabels: readonly string[];
}

/** A LostEvent as a source reported it, with the window it falls in. */
export interface LostRecord {
  target: string;
  nodeName: string;
  event: LostEvent;
  /** Report time in nanoseconds. */
  timeNs: bigint;
  /** Time of the last flow seen from this target before the loss (0 when none). */
  windowStartNs: bigint;
}

/** Nanoseconds of an optional protobuf Timestamp (undefined when absent). */
export function timestampToNs(ts: Timestamp | undefined): bigint | undefined {
  return ts ? timestampToNanos(ts) : undefined;
}

export { timestampFromNanos as nsToTimestamp } from '../../proto/src/timestamp.ts';
export { nowNs } from '../time.ts';

/** The ingest metadata of a flow (everything but the Flow itself). */
export type IngestMeta = Omit<FlowRecord, 'pb'>;

/** An IngestedFlow from a decoded Flow (JSON files, generators, tests): the Flow is encoded once here. */
export function ingestFlow(flow: Flow, meta: IngestMeta): IngestedFlow {
  return {
    pb: Flow.encode(flow).finish(),
    sourceIp: flow.IP?.source ?? '',
    destinationIp: flow.IP?.destination ?? '',
    sourceLabels: flow.source?.labels ?? [],
    destinationLabels: flow.destination?.labels ?? [],
    ...meta,
  };
}

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
 * One flow on its way to storage. No Flow object travels: the row encoder and Kafka read the
 * message's bytes (common/schema/flow-wire.ts); the few fields attribution reads are taken out once.
 */
export interface IngestedFlow {
  /** The Flow message's protobuf bytes, as received when the source had bytes. */
  pb: Uint8Array;
  /** `Flow.IP.source` ('' when none): what attribution reads of each end. */
  sourceIp: string;
  destinationIp: string;
  /** `Flow.source.labels`. */
  sourceLabels: readonly string[];
  destinationLabels: readonly string[];
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
export type IngestMeta = Omit<
  IngestedFlow,
  'pb' | 'sourceIp' | 'destinationIp' | 'sourceLabels' | 'destinationLabels'
>;

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

/**
 * @module The public surface of proto/ that is safe in a browser: generated message types and codecs of
 * packages `flow` and `relay`, the types (only) of `observer`, and the hand-written helpers. gRPC clients
 * and servers (which need Node) are exported by ./grpc.ts.
 */
export * from '../gen/flow/flow.js';
export type { Timestamp } from '../gen/google/protobuf/timestamp.js';
export type {
  ExportEvent,
  GetAgentEventsRequest,
  GetAgentEventsResponse,
  GetDebugEventsRequest,
  GetDebugEventsResponse,
  GetFlowsRequest,
  GetFlowsRequest_Experimental,
  GetFlowsResponse,
  GetNamespacesRequest,
  GetNamespacesResponse,
  GetNodesRequest,
  GetNodesResponse,
  Namespace,
  Node,
  ServerStatusRequest,
  ServerStatusResponse,
  TLS,
} from '../gen/observer/observer.js';
export { NodeState, NodeStatusEvent } from '../gen/relay/relay.js';
export { type EnumObject, enumName, enumValue, isKnownEnumValue } from './enums.js';
export { formatFieldMask, parseFieldMask } from './field-mask.js';
export {
  type HubbleEventKind,
  type HubbleJsonOptions,
  hubbleEventKind,
  messageFromJson,
  messageToJson,
  parseHubbleJson,
  toHubbleJson,
  toHubbleJsonLine,
} from './hubble-json.js';
export { HubbleJsonError } from './json-error.js';
export type { JsonReadOptions } from './json-read.js';
export type { JsonObject, JsonValue, JsonWriteOptions } from './json-write.js';
export { formatTimestamp, parseTimestamp, timestampFromNanos, timestampToNanos } from './timestamp.js';
export { SCHEMA_VERSION } from './version.js';
export type { AnyCodec, AnyTypeRegistry } from './well-known.js';

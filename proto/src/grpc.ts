/**
 * @module The Node-only part of proto/: generated messages with their gRPC (grpc-js) services, for the
 * collector (Observer client), the query API (Observer and Health servers) and tests. Browser code imports
 * ./index.ts instead, because these modules load @grpc/grpc-js.
 */
export {
  HealthCheckRequest,
  HealthCheckResponse,
  HealthCheckResponse_ServingStatus,
  HealthClient,
  type HealthServer,
  HealthService,
} from '../gen/health/health.js';
export {
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
  ObserverClient,
  type ObserverServer,
  ObserverService,
  ServerStatusRequest,
  ServerStatusResponse,
  TLS,
} from '../gen/observer/observer.js';
export {
  ChangeNotification,
  ChangeNotificationType,
  NotifyRequest,
  PeerClient,
  type PeerServer,
  PeerService,
  TLS as PeerTLS,
} from '../gen/peer/peer.js';

/**
 * @module Test helpers for the Observer server: a grpc-js client on loopback and a collector of a
 * GetFlows stream. Production code never imports this file.
 */
import * as grpc from '@grpc/grpc-js';
import { HealthClient } from '../../../proto/gen/health/health.js';
import {
  type GetFlowsRequest,
  type GetFlowsResponse,
  ObserverClient,
} from '../../../proto/gen/observer/observer.js';

/** A full GetFlowsRequest with defaults (ts-proto types need every field). */
export function flowsRequest(partial: Partial<GetFlowsRequest> = {}): GetFlowsRequest {
  return { number: 0n, first: false, follow: false, blacklist: [], whitelist: [], ...partial };
}

/** An Observer client and a Health client for `address`. */
export function observerClients(address: string): {
  observer: ObserverClient;
  health: HealthClient;
  close(): void;
} {
  const creds = grpc.credentials.createInsecure();
  const observer = new ObserverClient(address, creds);
  const health = new HealthClient(address, creds);
  return {
    observer,
    health,
    close: () => {
      observer.close();
      health.close();
    },
  };
}

/** Reads a non-follow GetFlows stream to its end. */
export function collectFlows(client: ObserverClient, req: GetFlowsRequest): Promise<GetFlowsResponse[]> {
  return new Promise((resolve, reject) => {
    const out: GetFlowsResponse[] = [];
    const stream = client.getFlows(req);
    stream.on('data', (r: GetFlowsResponse) => out.push(r));
    stream.on('error', reject);
    stream.on('end', () => resolve(out));
  });
}

/** Reads a follow stream until `count` responses arrived, then cancels it. */
export function takeFlows(
  client: ObserverClient,
  req: GetFlowsRequest,
  count: number,
): Promise<GetFlowsResponse[]> {
  return new Promise((resolve, reject) => {
    const out: GetFlowsResponse[] = [];
    const stream = client.getFlows(req);
    stream.on('data', (r: GetFlowsResponse) => {
      out.push(r);
      if (out.length === count) {
        stream.cancel();
        resolve(out);
      }
    });
    stream.on('error', (err: grpc.ServiceError) => {
      if (err.code !== grpc.status.CANCELLED) reject(err);
    });
  });
}

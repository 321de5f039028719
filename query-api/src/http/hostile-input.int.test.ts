/**
 * Hostile and out-of-range input gets a 400 / INVALID_ARGUMENT that says what is wrong, never a
 * 500, and ClickHouse's own error text never reaches a client (issue 17 items 6 and 7).
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FlowFilter } from '../../../proto/gen/flow/flow.ts';
import { GetFlowsRequest, type GetFlowsResponse, ObserverClient } from '../../../proto/src/grpc.ts';
import { get, startTestApi, type TestApi, testTokens } from '../testing.ts';

let api: TestApi;
beforeAll(async () => {
  // One result row per statement: any multi-row query trips ClickHouse's max_result_rows.
  api = await startTestApi({
    config: {
      api: {
        limits: { maxRangeHours: 24 * 365 * 100, maxUnboundedRangeHours: 24 * 365 * 100, maxResultRows: 1 },
        followPollMs: 100,
      },
    },
  });
});
afterAll(async () => api?.close());

const engineText = /Code:\s*\d+|DB::Exception|max_result_rows =|SELECT /;

async function send(method: string, p: string, body?: string) {
  const res = await fetch(`${api.url}${p}`, {
    method,
    headers: {
      authorization: `Bearer ${testTokens.admin}`,
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    ...(body ? { body } : {}),
  });
  return { status: res.status, text: await res.text() };
}

function observer() {
  const client = new ObserverClient(api.grpcAddress, grpc.credentials.createInsecure());
  const md = new grpc.Metadata();
  md.set('authorization', `Bearer ${testTokens.admin}`);
  return { client, md };
}

function getFlows(req: GetFlowsRequest): Promise<grpc.ServiceError | GetFlowsResponse[]> {
  const { client, md } = observer();
  return new Promise((resolve) => {
    const out: GetFlowsResponse[] = [];
    const call = client.getFlows(req, md);
    call.on('data', (r: GetFlowsResponse) => out.push(r));
    call.on('end', () => {
      client.close();
      resolve(out);
    });
    call.on('error', (err: grpc.ServiceError) => {
      client.close();
      resolve(err);
    });
  });
}

describe('query-api > hostile input', () => {
  it.each([
    ['GET', '/api/v1/tenants/%/summary'],
    ['GET', '/api/v1/investigations/%ff%fe'],
    ['POST', '/api/v1/alerts/incidents/%C0%AF/ack'],
    ['GET', '/api/v1/tenants/%ED%A0%80/summary'],
    ['GET', '/api/v1/investigations/%F4%90%80%80'],
    ['GET', '/api/v1/alerts/incidents/%E0%80'],
  ])('%s %s: malformed percent-encoding is a 400', async (method, p) => {
    const r = await send(method, p);
    expect(r.status).toBe(400);
    expect(JSON.parse(r.text).error.message).toMatch(/malformed percent-encoding/);
  });

  it('deeply nested JSON bodies are a 400 on every body-taking endpoint', async () => {
    for (const [p, body] of [
      ['/api/v1/investigations', `${'['.repeat(5000)}${']'.repeat(5000)}`],
      [
        '/api/v1/alerts/incidents/00000000-0000-0000-0000-000000000000/ack',
        `${'{"a":'.repeat(100)}1${'}'.repeat(100)}`,
      ],
    ] as const) {
      const r = await send('POST', p, body);
      expect(r.status, p).toBe(400);
      expect(r.text).toMatch(/nests deeper than 32 levels/);
    }
  });

  it('ClickHouse error text never reaches a client: a generic message and our request id', async () => {
    const r = await get(api, '/api/v1/flows?since=2000-01-01T00:00:00Z&limit=50', testTokens.admin);
    expect(r.status).toBe(413);
    expect(r.text).not.toMatch(engineText);
    const err = (r.body as { error: { message: string; request_id: string } }).error;
    expect(err.message).toMatch(/query limit reached \(max_result_rows\)/);
    expect(err.request_id).toBe(r.headers.get('x-request-id'));
    const { client, md } = observer();
    const nodes = await new Promise<grpc.ServiceError | null>((resolve) =>
      client.getNodes({}, md, (e) => resolve(e)),
    );
    client.close();
    expect(nodes?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(nodes?.details).not.toMatch(engineText);
  });

  it('gRPC GetFlows with 10,000 whitelist filters is INVALID_ARGUMENT', async () => {
    const whitelist = Array.from({ length: 10_000 }, (_, i) =>
      FlowFilter.fromPartial({ source_ip: [`10.0.${i >> 8}.${i & 255}`] }),
    );
    const r = await getFlows(GetFlowsRequest.fromPartial({ whitelist }));
    expect((r as grpc.ServiceError).code).toBe(grpc.status.INVALID_ARGUMENT);
    expect((r as grpc.ServiceError).details).toMatch(/too many (flow filters \(10000\)|filter values)/);
    const wide = await getFlows(
      GetFlowsRequest.fromPartial({
        whitelist: [
          FlowFilter.fromPartial({
            source_ip: Array.from({ length: 10_000 }, (_, i) => `10.1.${i >> 8}.${i & 255}`),
          }),
        ],
      }),
    );
    expect((wide as grpc.ServiceError).details).toMatch(/flow filters too large|too many filter values/);
  });
});

describe('query-api > out-of-range values', () => {
  it.each([
    [
      '/api/v1/timeseries?since=2026-01-01T00:00:00Z&until=2026-01-02T00:00:00Z&step=999999d',
      /step: out of range/,
    ],
    [
      '/api/v1/visualize?since=2026-01-01T00:00:00Z&until=2026-01-02T00:00:00Z&step=999999d',
      /step: out of range/,
    ],
    ['/api/v1/alerts/incidents?since=9999-12-31T00:00:00Z', /out of range/],
    ['/api/v1/flows?since=0099-01-01T00:00:00Z&until=0099-01-02T00:00:00Z', /out of range/],
    ['/api/v1/flows?since=99999999999999999999999', /out of range/],
    ['/api/v1/flows?since=-999999d', /out of range/],
    ['/api/v1/alerts/incidents?until=2026-02-30T00:00:00Z', /out of range/],
  ])('%s is a 400', async (p, message) => {
    const r = await get(api, p, testTokens.admin);
    expect(r.status).toBe(400);
    expect(r.text).toMatch(message);
  });

  it('gRPC since.seconds = 2^63-1 is INVALID_ARGUMENT, not a wrapped date', async () => {
    const r = await getFlows(
      GetFlowsRequest.fromPartial({ since: { seconds: 9_223_372_036_854_775_807n, nanos: 0 } }),
    );
    expect((r as grpc.ServiceError).code).toBe(grpc.status.INVALID_ARGUMENT);
    expect((r as grpc.ServiceError).details).toMatch(/since.*out of range|out of range/);
  });
});

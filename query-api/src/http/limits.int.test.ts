import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithFixtures } from '../../../common/testing/fixtures.ts';
import { GetFlowsRequest, ObserverClient } from '../../../proto/src/grpc.ts';
import { get, startTestApi, type TestApi, testTokens } from '../testing.ts';

const range = 'since=2000-01-01T00:00:00Z&until=2030-01-01T00:00:00Z';
let api: TestApi;

describeWithFixtures('query-api > http > limits', () => {
  beforeAll(async () => {
    api = await startTestApi({
      config: {
        api: {
          limits: {
            maxResultRows: 50,
            maxRowsPerResponse: 500,
            maxStreamRows: 100,
            maxRangeHours: 24 * 365 * 100,
            maxUnboundedRangeHours: 24,
          },
        },
      },
    });
  });
  afterAll(async () => api?.close());

  it('a ClickHouse result-row limit hit is a clear 413, not a hang or a 500', async () => {
    const r = await get(api, `/api/v1/flows?${range}&ip=10.0.0.0/8&limit=200`, testTokens.admin);
    expect(r.status).toBe(413);
    expect(String((r.body as { error: { message: string } }).error.message)).toContain('max_result_rows');
  });

  it('rows per response and unbounded ranges are refused up front with 400', async () => {
    const big = await get(api, `/api/v1/flows?${range}&ip=10.0.0.0/8&limit=501`, testTokens.admin);
    expect(big.status).toBe(400);
    expect(big.body).toMatchObject({ error: { param: 'limit' } });
    const wide = await get(api, `/api/v1/flows?${range}`, testTokens.admin);
    expect(wide.status).toBe(400);
    expect(wide.body).toMatchObject({ error: { param: 'since' } });
  });

  it('gRPC GetFlows beyond maxStreamRows ends with RESOURCE_EXHAUSTED after the allowed rows', async () => {
    const client = new ObserverClient(api.grpcAddress, grpc.credentials.createInsecure());
    const md = new grpc.Metadata();
    md.set('authorization', `Bearer ${testTokens.admin}`);
    const out = await new Promise<{ n: number; code?: number }>((resolve) => {
      let n = 0;
      const call = client.getFlows(
        GetFlowsRequest.fromPartial({ number: 2n ** 64n - 1n, since: { seconds: 946684800n, nanos: 0 } }),
        md,
      );
      call.on('data', () => n++);
      call.on('error', (e: grpc.ServiceError) => resolve({ n, code: e.code }));
      call.on('end', () => resolve({ n }));
    });
    client.close();
    expect(out.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(out.n).toBe(100);
  });
});

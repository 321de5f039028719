import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithFixtures } from '../../../common/testing/fixtures.ts';
import { get, startTestApi, type TestApi, testTokens } from '../testing.ts';

type Viz = {
  dimensions: string[];
  step_seconds: number;
  top: { key: string[]; flows: number; drops: number }[];
  points: { time: string; key: string[]; flows: number }[];
  totals: { time: string; flows: number }[];
};
const range = 'since=2000-01-01T00:00:00Z&until=2030-01-01T00:00:00Z';
let api: TestApi;

describeWithFixtures('query-api > http > visualize', () => {
  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(async () => api?.close());

  it('groups by dimensions: top N sums to the series, totals cover everything the filters select', async () => {
    const r = await get(
      api,
      `/api/v1/visualize?${range}&dimensions=src_tenant,verdict&n=5&step=3650d`,
      testTokens.admin,
    );
    expect(r.status).toBe(200);
    const v = r.body as unknown as Viz;
    expect(v.dimensions).toEqual(['src_tenant', 'verdict']);
    expect(v.top.length).toBeGreaterThan(0);
    expect(v.top.length).toBeLessThanOrEqual(5);
    for (const t of v.top) {
      const inSeries = v.points.filter((p) => p.key.join() === t.key.join()).reduce((a, p) => a + p.flows, 0);
      expect(inSeries).toBe(t.flows);
    }
    const all = await get(api, `/api/v1/flows?${range}&limit=10000`, testTokens.admin);
    expect(v.totals.reduce((a, t) => a + t.flows, 0)).toBe((all.body as { count: number }).count);
  });

  it('a tenant token sees its own tenant only, and other owners masked', async () => {
    const r = await get(
      api,
      `/api/v1/visualize?${range}&dimensions=src_tenant,dst_tenant&n=50&step=3650d`,
      testTokens.acme,
    );
    expect(r.status).toBe(200);
    for (const t of (r.body as unknown as Viz).top) {
      for (const k of t.key) expect(['', 'acme']).toContain(k);
    }
    expect(r.text).not.toContain('globex');
  });

  it('rejects unknown dimensions and too many buckets with a 400 that names the parameter', async () => {
    const bad = await get(api, `/api/v1/visualize?${range}&dimensions=password`, testTokens.admin);
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('dimensions');
    const steps = await get(api, `/api/v1/visualize?${range}&step=1s`, testTokens.admin);
    expect(steps.status).toBe(400);
    expect(JSON.stringify(steps.body)).toContain('step');
    const doc = await get(api, '/api/v1/openapi.json');
    expect(JSON.stringify(doc.body)).toContain('/api/v1/visualize');
  });
});

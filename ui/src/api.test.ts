import { describe, expect, it } from 'vitest';
import { buildUrl, normaliseTimeseries, normaliseTop, normaliseTopology } from './api.ts';

describe('ui > api', () => {
  it('repeats array parameters (ORed filters) and drops empty ones', () => {
    expect(buildUrl('/api/v1/flows', { verdict: ['DROPPED', 'ERROR'], ip: '', port: 53, x: undefined })).toBe(
      '/api/v1/flows?verdict=DROPPED&verdict=ERROR&port=53',
    );
  });

  it('turns flat timeseries points into one series per key', () => {
    const ts = normaliseTimeseries({
      step_seconds: 60,
      points: [
        { time: 't1', key: 'FORWARDED', flows: 3 },
        { time: 't1', key: 'DROPPED', flows: 1 },
        { time: 't2', key: 'FORWARDED', flows: 5 },
      ],
    });
    expect(ts).toEqual({
      step_seconds: 60,
      series: [
        {
          key: 'FORWARDED',
          points: [
            { t: 't1', count: 3 },
            { t: 't2', count: 5 },
          ],
        },
        { key: 'DROPPED', points: [{ t: 't1', count: 1 }] },
      ],
    });
  });

  it.each([
    {
      by: 'destination',
      item: { ip: '1.2.3.4', flows: 9, drops: 2 },
      metric: 'flows',
      key: '1.2.3.4',
      count: 9,
    },
    { by: 'tenant', item: { tenant: 'acme', flows: 9, drops: 2 }, metric: 'drops', key: 'acme', count: 2 },
    { by: 'port', item: { port: 443, protocol: 'TCP', flows: 4 }, metric: 'flows', key: '443', count: 4 },
  ])('reads top items by $by', ({ item, metric, key, count }) => {
    expect(normaliseTop({ items: [item] }, metric)[0]).toMatchObject({ key, count });
  });

  it('reads topology edges with drop counts and tenants', () => {
    const [e] = normaliseTopology({
      nodes: [],
      edges: [
        { source: 'acme/web', destination: '10.0.0.1', flows: 7, verdicts: { FORWARDED: 5, DROPPED: 2 } },
      ],
    });
    expect(e).toMatchObject({
      source: 'acme/web',
      destination: '10.0.0.1',
      source_tenant: 'acme',
      destination_tenant: '',
      flows: 7,
      dropped: 2,
    });
  });
});

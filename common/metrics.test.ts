import { describe, expect, it } from 'vitest';
import { createMetrics, createMetricsRegistry } from './metrics.ts';

describe('common > metrics', () => {
  it('prefixes every metric with its component and serves them from the service registry', async () => {
    const reg = createMetricsRegistry();
    reg.component('api').counter('requests_total', 'Requests.').inc(2);
    reg.component('collector').gauge('connected', 'Connected.').set(1);
    const text = await reg.registry.metrics();
    expect(text).toMatch(/^flowtrail_api_requests_total 2$/m);
    expect(text).toMatch(/^flowtrail_collector_connected 1$/m);
  });

  it('refuses a component prefix taken twice in one registry', () => {
    const reg = createMetricsRegistry();
    reg.component('api');
    expect(() => reg.component('api')).toThrow(/flowtrail_api_ is already in use/);
  });

  it('refuses a name declared again with another definition', () => {
    const m = createMetrics('x');
    m.counter('events_total', 'Events.', ['target']);
    expect(() => m.counter('events_total', 'Other help.', ['target'])).toThrow(/already registered/);
    expect(() => m.gauge('events_total', 'Events.', ['target'])).toThrow(/already registered/);
    expect(() => createMetrics('x', m.registry).counter('events_total', 'Events.', ['target'])).toThrow(
      /already registered/,
    );
  });

  it('gives the same metric for the very same declaration (one source per Hubble target)', () => {
    const m = createMetrics('collector');
    const a = m.counter('hubble_flows_total', 'Flows.', ['target']);
    const b = m.counter('hubble_flows_total', 'Flows.', ['target']);
    expect(b).toBe(a);
  });

  it('keeps two services in one process apart', async () => {
    const one = createMetricsRegistry();
    const two = createMetricsRegistry();
    one.component('api').counter('requests_total', 'Requests.').inc();
    two.component('api').counter('requests_total', 'Requests.').inc(5);
    expect(await one.registry.metrics()).toMatch(/^flowtrail_api_requests_total 1$/m);
    expect(await two.registry.metrics()).toMatch(/^flowtrail_api_requests_total 5$/m);
  });
});

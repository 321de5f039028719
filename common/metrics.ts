/**
 * Metrics: one prom-client registry per process, and factories that hand each component
 * metrics already prefixed `flowtrail_<component>_` (STYLE.md §10).
 * @module
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The process-wide registry that /metrics serves. */
export const registry = new Registry();

/** Creates and registers metrics under `flowtrail_<prefix>_`; creating one twice returns the first. */
export function createMetrics(prefix: string, reg: Registry = registry) {
  const full = (name: string) => `flowtrail_${prefix}_${name}`;
  const existing = <T>(name: string): T | undefined => reg.getSingleMetric(full(name)) as T | undefined;
  return {
    counter<L extends string = string>(
      name: string,
      help: string,
      labelNames: readonly L[] = [],
    ): Counter<L> {
      return (
        existing<Counter<L>>(name) ?? new Counter({ name: full(name), help, labelNames, registers: [reg] })
      );
    },
    gauge<L extends string = string>(name: string, help: string, labelNames: readonly L[] = []): Gauge<L> {
      return existing<Gauge<L>>(name) ?? new Gauge({ name: full(name), help, labelNames, registers: [reg] });
    },
    histogram<L extends string = string>(
      name: string,
      help: string,
      labelNames: readonly L[] = [],
      buckets: number[] = [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    ): Histogram<L> {
      return (
        existing<Histogram<L>>(name) ??
        new Histogram({ name: full(name), help, labelNames, buckets, registers: [reg] })
      );
    },
  };
}

/** What createMetrics returns: pass it to components as `deps.metrics`. */
export type Metrics = ReturnType<typeof createMetrics>;

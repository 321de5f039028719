/**
 * Metrics: each service owns one registry (what its /metrics serves) and hands every component
 * a `Metrics` bound to a fixed prefix `flowtrail_<component>_` (STYLE.md §10). Nothing is global:
 * two services in one process (tests) never see each other's series, and registering a name
 * with another definition (type, help or labels), or two components picking one prefix, is an
 * error at startup instead of two components silently sharing one counter. Declaring the very
 * same metric again (one source per Hubble target, each labelling by target) gives the same one.
 * @module
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** A service's registry: what /metrics serves. */
export interface MetricsRegistry {
  /** The prom-client registry (for the /metrics route and tests). */
  readonly registry: Registry;
  /** Metrics for one component, prefixed `flowtrail_<prefix>_`; a prefix can be taken once. */
  component(prefix: string): Metrics;
}

/** Creates a service's registry. */
export function createMetricsRegistry(): MetricsRegistry {
  const registry = new Registry();
  const taken = new Set<string>();
  return {
    registry,
    component(prefix) {
      if (taken.has(prefix)) throw new Error(`metrics prefix flowtrail_${prefix}_ is already in use`);
      taken.add(prefix);
      return createMetrics(prefix, registry);
    },
  };
}

/**
 * Creates metrics under `flowtrail_<prefix>_` in `reg` (a fresh registry of their own when none is
 * given: one-shot commands and tests that nobody scrapes). Creating a name that `reg` already
 * holds throws.
 */
export function createMetrics(prefix: string, reg: Registry = new Registry()) {
  if (!/^[a-z][a-z0-9_]*$/.test(prefix)) throw new Error(`invalid metrics prefix: ${prefix}`);
  const defined = new Map<string, string>();
  /** Returns the existing metric for an identical declaration; throws on a conflicting one. */
  const declare = <T>(
    type: string,
    name: string,
    help: string,
    labels: readonly string[],
    make: (n: string) => T,
  ): T => {
    const n = `flowtrail_${prefix}_${name}`;
    const signature = JSON.stringify([type, help, [...labels].sort()]);
    const existing = reg.getSingleMetric(n);
    if (existing) {
      if (defined.get(n) === signature) return existing as T;
      throw new Error(`metric ${n} is already registered with another definition`);
    }
    defined.set(n, signature);
    return make(n);
  };
  return {
    /** The registry these metrics live in. */
    registry: reg,
    counter<L extends string = string>(
      name: string,
      help: string,
      labelNames: readonly L[] = [],
    ): Counter<L> {
      return declare(
        'counter',
        name,
        help,
        labelNames,
        (n) => new Counter({ name: n, help, labelNames, registers: [reg] }),
      );
    },
    /** A gauge; `collect` computes its value at scrape time. */
    gauge<L extends string = string>(
      name: string,
      help: string,
      labelNames: readonly L[] = [],
      collect?: (this: Gauge<L>) => void | Promise<void>,
    ): Gauge<L> {
      return declare(
        'gauge',
        name,
        help,
        labelNames,
        (n) => new Gauge({ name: n, help, labelNames, registers: [reg], ...(collect ? { collect } : {}) }),
      );
    },
    histogram<L extends string = string>(
      name: string,
      help: string,
      labelNames: readonly L[] = [],
      buckets: number[] = [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    ): Histogram<L> {
      return declare(
        'histogram',
        name,
        help,
        labelNames,
        (n) => new Histogram({ name: n, help, labelNames, buckets, registers: [reg] }),
      );
    },
  };
}

/** What createMetrics returns: pass it to components as `deps.metrics`. */
export type Metrics = ReturnType<typeof createMetrics>;

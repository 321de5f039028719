/**
 * Attribution at ingest, wired once for every process that collects (`flowtrail start` and
 * `flowtrail collector`): the ownership tracker (fed by Nomad when configured, loaded from the
 * ownership table when a store is at hand) behind the enricher, exposed as the `attribute`
 * function the intake calls per flow. Without a store (a Kafka-only collector) netreap labels
 * and address scopes still attribute; ownership intervals are then applied at query time.
 * @module
 */
import type { Store } from '../../common/clickhouse/index.ts';
import type { TenancyConfig } from '../../common/config/tenancy.ts';
import type { IngestedFlow } from '../../common/flow/model.ts';
import type { Logger } from '../../common/logger.ts';
import type { Metrics } from '../../common/metrics.ts';
import { correctLateOwners } from '../../common/ownership/correct.ts';
import type { OwnershipLookup } from '../../common/ownership/types.ts';
import { nowNs } from '../../common/time.ts';
import { createEnricher } from './enrich/index.ts';
import { createNomadClient } from './nomad/client.ts';
import type { NomadConfig } from './nomad/config.ts';
import {
  createOwnershipTracker,
  defaultOwnershipTrackerConfig,
  type OwnershipStats,
} from './ownership/tracker.ts';
import type { AttributeFlow } from './pipeline.ts';

export interface AttributionDeps {
  tenancy: TenancyConfig;
  /** Where ownership intervals are loaded from and written to; none in a Kafka-only collector. */
  store?: Store;
  /** The Nomad API to follow; none means intervals come only from the store. */
  nomad?: NomadConfig;
  logger: Logger;
  metrics: Metrics;
  /**
   * With a store: how often flows stored as nobody's over the last `correctWindowMs` are
   * corrected from the ownership table (common/ownership/correct.ts), so alerts and dashboards
   * see owners that became known late; also once at start, which finishes a correction a crash
   * interrupted. 0: never. Default 300,000 (5 min).
   */
  correctEveryMs?: number;
  /** Default 7,200,000 (2 h). */
  correctWindowMs?: number;
}

/** The running attribution. */
export interface Attribution {
  attribute: AttributeFlow;
  /** Tracker numbers for status pages; undefined without a store. */
  stats(): OwnershipStats | undefined;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Knows no owners: labels and address scopes only. */
const noOwners: OwnershipLookup = {
  allocAt: () => undefined,
  nodeAt: () => undefined,
  namespaceTenancy: () => undefined,
};

/** Wires tracker and enricher; nothing runs before `start()`. */
export function createAttribution(deps: AttributionDeps): Attribution {
  const tracker = deps.store
    ? createOwnershipTracker(
        { tenancy: deps.tenancy, ...defaultOwnershipTrackerConfig },
        {
          store: deps.store,
          logger: deps.logger.child('ownership'),
          metrics: deps.metrics,
          nomad: deps.nomad ? createNomadClient(deps.nomad) : undefined,
        },
      )
    : undefined;
  if (!tracker && deps.nomad) {
    deps.logger.warn(
      'NOMAD_ADDR is ignored without a ClickHouse store: flows are attributed from labels at ingest and from ownership at query time',
    );
  }
  const enricher = createEnricher({ tenancy: deps.tenancy }, { ownership: tracker ?? noOwners });
  const conflicts = deps.metrics.counter(
    'attribution_conflicts_total',
    'Flows whose netreap labels and Nomad ownership interval disagreed about an end (the owner is the interval; see attribution-conflict=true)',
  );
  const correctEveryMs = deps.correctEveryMs ?? 300_000;
  const correctWindowNs = BigInt(deps.correctWindowMs ?? 7_200_000) * 1_000_000n;
  const runs = deps.metrics.counter('late_owner_corrections_total', 'Late-owner correction runs by outcome', [
    'outcome',
  ]);
  const corrected = deps.metrics.counter(
    'late_owner_ends_corrected_total',
    "Flow ends stored as nobody's, corrected from ownership learned later (flows and rollup)",
  );
  const runSeconds = deps.metrics.gauge('late_owner_last_run_seconds', 'Duration of the last correction run');
  let correcting: Promise<void> | undefined;
  let correctTimer: NodeJS.Timeout | undefined;
  const correct = () => {
    const store = deps.store;
    if (!store || correcting) return;
    correcting = tracker!
      .flush()
      .then(() => correctLateOwners(store, { sinceNs: nowNs() - correctWindowNs, tenancy: deps.tenancy }))
      .then((r) => {
        runs.inc({ outcome: 'ok' });
        corrected.inc(r.src + r.dst);
        runSeconds.set(r.ms / 1000);
        if (r.src + r.dst > 0 || r.resumed > 0)
          deps.logger.info('late owners corrected', { ends: r.src + r.dst, resumed: r.resumed, ms: r.ms });
      })
      .catch((err) => {
        runs.inc({ outcome: 'error' });
        deps.logger.warn('late-owner correction failed; will retry', { error: String(err) });
      })
      .finally(() => {
        correcting = undefined;
      });
  };
  return {
    attribute: (f: IngestedFlow) => {
      const a = enricher.enrich(f);
      if (a.conflict !== '') conflicts.inc();
      return a;
    },
    stats: () => tracker?.stats(),
    async start() {
      await tracker?.start();
      await enricher.start();
      if (tracker && correctEveryMs > 0) {
        correctTimer = setInterval(correct, correctEveryMs);
        correctTimer.unref();
        // At start too: finishes a batch a crash left unfinished (correct.ts) before new ones.
        correct();
      }
    },
    async stop() {
      if (correctTimer) clearInterval(correctTimer);
      await correcting;
      await enricher.stop();
      await tracker?.stop();
    },
  };
}

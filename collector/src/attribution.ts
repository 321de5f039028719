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
import type { OwnershipLookup } from '../../common/ownership/types.ts';
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
  return {
    attribute: (f: IngestedFlow) => {
      const a = enricher.enrich({
        timeNs: f.timeNs,
        sourceIp: f.flow.IP?.source ?? '',
        destinationIp: f.flow.IP?.destination ?? '',
        sourceLabels: f.flow.source?.labels ?? [],
        destinationLabels: f.flow.destination?.labels ?? [],
      });
      if (a.conflict !== '') conflicts.inc();
      return a;
    },
    stats: () => tracker?.stats(),
    async start() {
      await tracker?.start();
      await enricher.start();
    },
    async stop() {
      await enricher.stop();
      await tracker?.stop();
    },
  };
}

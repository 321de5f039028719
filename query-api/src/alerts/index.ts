/**
 * The alerts component in one call: the engine (rules → incidents), the webhook notifier and
 * the HTTP router, wired together. `flowtrail start` and `flowtrail api` call `createAlerts`,
 * mount `router` under `/api/v1/alerts`, call `start()` once the store is migrated and `stop()`
 * on shutdown (the engine first, so no new deliveries are queued, then the notifier with a
 * grace period). `createAlerts` does no I/O.
 * @module
 */
import type { Router } from 'express';
import type { Store } from '../../../common/clickhouse/index.ts';
import type { AlertsConfig } from '../../../common/config/alerts.ts';
import type { Logger } from '../../../common/logger.ts';
import { createMetrics, type Metrics } from '../../../common/metrics.ts';
import { type AlertEngine, createAlertEngine } from './engine.ts';
import { createAlertsRouter } from './routes.ts';
import { createWebhookNotifier, type WebhookNotifier } from './webhooks/notifier.ts';

export {
  type AlertsConfig,
  alertsConfigSchema,
  defaultAlertsConfig,
  loadAlertsConfig,
} from '../../../common/config/alerts.ts';
export type { AlertEngine, EvaluationResult } from './engine.ts';
export { createAlertsRouter } from './routes.ts';

/** The wired component. */
export interface Alerts {
  engine: AlertEngine;
  notifier: WebhookNotifier;
  /** Mount under `/api/v1/alerts`, behind authentication. */
  router: Router;
  start(): void;
  stop(): Promise<void>;
}

/** Builds the alerts component; invalid custom rules throw a ConfigError here. */
export function createAlerts(
  config: AlertsConfig,
  deps: { store: Store; logger: Logger; metrics?: Metrics; env?: NodeJS.ProcessEnv },
): Alerts {
  const metrics = deps.metrics ?? createMetrics('alerts');
  const logger = deps.logger;
  const notifier = createWebhookNotifier(config.webhooks, config.publicUrl, {
    store: deps.store,
    logger: logger.child('webhooks'),
    metrics,
    env: deps.env,
  });
  const engine = createAlertEngine(config, { store: deps.store, logger, metrics, notifier });
  const router = createAlertsRouter({ engine, store: deps.store, logger });
  return {
    engine,
    notifier,
    router,
    start() {
      notifier.start();
      engine.start();
    },
    async stop() {
      await engine.stop();
      await notifier.stop();
    },
  };
}

/**
 * Webhook delivery: each incident creation or update is queued once per matching target
 * (global targets take every rule, others the rules they list, above their minimum severity),
 * then POSTed with an HMAC signature, retried with exponential backoff and jitter through
 * common/retry.ts (5xx, 408, 429 and network errors; other 4xx are final), and logged in
 * `alert_deliveries` when it ends. The destination passes the SSRF guard first and the request
 * connects to the very address the guard approved. Secrets and URLs never reach the log.
 * `createWebhookNotifier` does no I/O; `start()` begins the workers.
 * @module
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { Store } from '../../../../common/clickhouse/index.ts';
import {
  type Severity,
  severities,
  type WebhooksConfig,
  type WebhookTarget,
} from '../../../../common/config/alerts.ts';
import { errorMessage, FlowtrailError } from '../../../../common/errors.ts';
import type { Logger } from '../../../../common/logger.ts';
import type { Metrics } from '../../../../common/metrics.ts';
import { retry, sleep } from '../../../../common/retry.ts';
import type { IncidentNotifier } from '../engine.ts';
import type { Incident, IncidentChange } from '../incidents.ts';
import { type DeliveryRecord, recordDeliveries } from './deliveries.ts';
import { jsonPayload, slackPayload } from './payload.ts';
import { signatureHeader, signPayload } from './signature.ts';
import {
  createTargetGuard,
  type ResolvedTarget,
  type TargetGuard,
  TargetRefusedError,
} from './ssrf-guard.ts';

/** A non-2xx answer; retriable for 5xx, 408 and 429. */
class DeliveryHttpError extends FlowtrailError {
  readonly status: number;

  constructor(status: number) {
    super(`receiver answered ${status}`, { retriable: status >= 500 || status === 408 || status === 429 });
    this.status = status;
  }
}

/** Dependencies of the notifier. */
export interface WebhookNotifierDeps {
  store: Store;
  logger: Logger;
  metrics: Metrics;
  /** Values of the `secretEnv` variables (main reads them from its environment). Default none. */
  env?: NodeJS.ProcessEnv;
  /** Replaces the SSRF guard's resolver-backed default (tests). */
  guard?: TargetGuard;
}

/** The notifier the engine calls, plus lifecycle. */
export interface WebhookNotifier extends IncidentNotifier {
  start(): void;
  /** Waits up to `graceMs` for queued deliveries, then abandons the rest. */
  stop(graceMs?: number): Promise<void>;
  /** Resolves when nothing is queued or in flight (tests). */
  idle(): Promise<void>;
}

interface Job {
  target: WebhookTarget;
  secret: string | undefined;
  incident: Incident;
  change: IncidentChange;
}

const rank = (s: Severity) => severities.indexOf(s);

/** Creates the webhook notifier for `config` (the `alerts.webhooks` slice) and `publicUrl`. */
export function createWebhookNotifier(
  config: WebhooksConfig,
  publicUrl: string,
  deps: WebhookNotifierDeps,
): WebhookNotifier {
  const env = deps.env ?? {};
  const guard = deps.guard ?? createTargetGuard(config.allowPrivateTargets);
  const log = deps.logger;
  const targets = config.targets.map((t) => ({
    target: t,
    secret: t.secret ?? (t.secretEnv ? env[t.secretEnv] : undefined),
  }));
  const m = {
    deliveries: deps.metrics.counter('webhook_deliveries_total', 'Finished webhook deliveries by outcome.', [
      'target',
      'outcome',
    ]),
    attempts: deps.metrics.counter('webhook_attempts_total', 'Webhook HTTP attempts.', ['target']),
    dropped: deps.metrics.counter('webhook_dropped_total', 'Deliveries dropped because the queue was full.'),
    seconds: deps.metrics.histogram('webhook_attempt_seconds', 'Latency of one webhook attempt.', ['target']),
  };
  const queue: Job[] = [];
  let inFlight = 0;
  let started = false;
  const concurrency = 4;
  const abort = new AbortController();
  let idleWaiters: (() => void)[] = [];

  const checkIdle = () => {
    if (queue.length === 0 && inFlight === 0) {
      const ws = idleWaiters;
      idleWaiters = [];
      for (const w of ws) w();
    }
  };

  function post(
    url: URL,
    to: ResolvedTarget,
    body: string,
    headers: Record<string, string>,
  ): Promise<number> {
    const mod = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = mod.request(
        url,
        {
          method: 'POST',
          headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
          timeout: config.timeoutMs,
          signal: abort.signal,
          // Connect to the address the guard approved; never resolve the name again.
          lookup: (_host, opts, cb) => {
            if ((opts as { all?: boolean }).all) (cb as (e: null, a: unknown[]) => void)(null, [to]);
            else (cb as (e: null, a: string, f: number) => void)(null, to.address, to.family);
          },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
          res.on('error', reject);
        },
      );
      req.on('timeout', () =>
        req.destroy(new FlowtrailError(`timed out after ${config.timeoutMs}ms`, { retriable: true })),
      );
      req.on('error', (err) =>
        reject(
          err instanceof FlowtrailError
            ? err
            : new FlowtrailError(errorMessage(err), { retriable: true, cause: err }),
        ),
      );
      req.end(body);
    });
  }

  async function deliver(job: Job): Promise<void> {
    const url = new URL(job.target.url);
    const id = randomUUID();
    const payload = jsonPayload(job.incident, job.change, id, publicUrl);
    const body = JSON.stringify(job.target.format === 'slack' ? slackPayload(payload) : payload);
    const record: DeliveryRecord = {
      id,
      incidentId: job.incident.id,
      rule: job.incident.rule,
      event: payload.event,
      target: job.target.name,
      host: url.host,
      format: job.target.format,
      outcome: 'failed',
      statusCodes: [],
      latenciesMs: [],
      error: '',
      startedAtMs: Date.now(),
      finishedAtMs: 0,
    };
    try {
      const to = await guard.resolve(url);
      await retry(
        async () => {
          const headers: Record<string, string> = {
            'content-type': 'application/json',
            'user-agent': 'flowtrail-alerts/1',
            'x-flowtrail-event': payload.event,
            'x-flowtrail-delivery': id,
          };
          if (job.secret)
            headers[signatureHeader] = signPayload(job.secret, body, Math.floor(Date.now() / 1000));
          const t = performance.now();
          m.attempts.inc({ target: job.target.name });
          let status = 0;
          try {
            status = await post(url, to, body, headers);
          } finally {
            const elapsed = performance.now() - t;
            record.statusCodes.push(status);
            record.latenciesMs.push(elapsed);
            m.seconds.observe({ target: job.target.name }, elapsed / 1000);
          }
          if (status < 200 || status >= 300) throw new DeliveryHttpError(status);
        },
        {
          maxAttempts: config.maxAttempts,
          initialDelayMs: config.initialDelayMs,
          maxDelayMs: config.maxDelayMs,
          signal: abort.signal,
        },
      );
      record.outcome = 'delivered';
    } catch (err) {
      record.outcome = err instanceof TargetRefusedError ? 'refused' : 'failed';
      record.error = errorMessage(err);
      log.warn('webhook delivery failed', {
        target: job.target.name,
        host: url.host,
        incident: job.incident.id,
        outcome: record.outcome,
        attempts: record.statusCodes.length,
        error: record.error,
      });
    }
    record.finishedAtMs = Date.now();
    m.deliveries.inc({ target: job.target.name, outcome: record.outcome });
    try {
      await recordDeliveries(deps.store, [record]);
    } catch (err) {
      log.error('cannot record webhook delivery', { target: job.target.name, error: errorMessage(err) });
    }
  }

  function pump(): void {
    while (started && inFlight < concurrency && queue.length > 0) {
      const job = queue.shift()!;
      inFlight++;
      deliver(job).finally(() => {
        inFlight--;
        pump();
        checkIdle();
      });
    }
  }

  return {
    notify(incident, change) {
      for (const t of targets) {
        if (t.target.rules.length > 0 && !t.target.rules.includes(incident.rule)) continue;
        if (rank(incident.severity) < rank(t.target.minSeverity)) continue;
        if (queue.length >= config.maxQueued) {
          m.dropped.inc();
          log.warn('webhook queue full; delivery dropped', { target: t.target.name, incident: incident.id });
          continue;
        }
        queue.push({ target: t.target, secret: t.secret, incident, change });
      }
      pump();
    },
    start() {
      if (started) return;
      started = true;
      for (const t of targets) {
        if (t.target.secretEnv && !t.secret)
          log.warn('webhook secret variable is not set; deliveries are unsigned', {
            target: t.target.name,
            variable: t.target.secretEnv,
          });
      }
      pump();
    },
    async stop(graceMs = 5000) {
      await Promise.race([this.idle(), sleep(graceMs).catch(() => {})]);
      started = false;
      abort.abort(new Error('webhook notifier stopped'));
      queue.length = 0;
    },
    idle() {
      return new Promise<void>((resolve) => {
        idleWaiters.push(resolve);
        checkIdle();
      });
    },
  };
}

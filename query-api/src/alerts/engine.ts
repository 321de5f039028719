/**
 * The alert engine: every interval it evaluates each enabled rule over the window that just
 * closed (ending `lagSeconds` behind now, on the interval grid), turns findings into incidents
 * (incidents.ts), stores them and hands each created or updated incident to the notifier once.
 * Backfill (`evaluateRange`) runs the same path over history, with or without storing.
 * `createAlertEngine` does no I/O; `start()` begins the schedule and `stop()` waits for the
 * running tick. Why SQL windows rather than collector counters: see evaluator.ts.
 * @module
 */
import type { Store } from '../../../common/clickhouse/index.ts';
import type { AlertsConfig } from '../../../common/config/alerts.ts';
import { errorMessage } from '../../../common/errors.ts';
import type { Logger } from '../../../common/logger.ts';
import type { Metrics } from '../../../common/metrics.ts';
import { nowNs as wallNowNs } from '../../../common/time.ts';
import { alignDown, backfillPlan, evaluateRule, type Finding, maxNs, type WindowPlan } from './evaluator.ts';
import { createIncidentStore, type IncidentStore } from './incident-store.ts';
import { applyFinding, type Incident, type IncidentChange, ownerKey } from './incidents.ts';
import { buildRules, type Rule } from './rules/index.ts';

const NS = 1_000_000_000n;

/** Receives each incident creation or update once (webhooks implement it). */
export interface IncidentNotifier {
  notify(incident: Incident, change: IncidentChange): void;
}

/** What the engine needs. */
export interface AlertEngineDeps {
  store: Store;
  logger: Logger;
  metrics: Metrics;
  /** Webhook delivery; absent means incidents are stored but not pushed anywhere. */
  notifier?: IncidentNotifier;
  /** The clock, Unix ns (tests pin it). */
  now?: () => bigint;
}

/** One incident touched by an evaluation. */
export interface IncidentUpdate {
  incident: Incident;
  change: IncidentChange;
}

/** Outcome of one evaluation (a tick or a backfill). */
export interface EvaluationResult {
  plan: WindowPlan;
  findings: number;
  updates: IncidentUpdate[];
  /** Seconds spent per rule. */
  ruleSeconds: Record<string, number>;
}

/** Options of a backfill. */
export interface RangeOptions {
  /** Store the incidents (and start from the stored ongoing ones). Default false: a dry run. */
  persist?: boolean;
  /** Hand changes to the notifier. Default false. */
  notify?: boolean;
  /** Only these rule ids (enabled or not). Default: every enabled rule. */
  rules?: readonly string[];
}

/** The running engine. */
export interface AlertEngine {
  readonly rules: readonly Rule[];
  readonly incidents: IncidentStore;
  start(): void;
  stop(): Promise<void>;
  /** Evaluates the windows closed since the last tick (the schedule calls it). */
  tick(): Promise<EvaluationResult | undefined>;
  /** Evaluates every window of [since, until) on the interval grid. */
  evaluateRange(sinceNs: bigint, untilNs: bigint, opts?: RangeOptions): Promise<EvaluationResult>;
}

/** Creates the engine; rule configuration errors (a bad custom filter) throw here, at startup. */
export function createAlertEngine(config: AlertsConfig, deps: AlertEngineDeps): AlertEngine {
  const rules = buildRules(config);
  const byId = new Map(rules.map((r) => [r.id, r]));
  const incidents = createIncidentStore(deps.store);
  const log = deps.logger;
  const now = deps.now ?? wallNowNs;
  const stepNs = BigInt(config.intervalSeconds) * NS;
  const lagNs = BigInt(config.lagSeconds) * NS;
  const quietNs = BigInt(config.quietPeriodSeconds) * NS;
  const maxWindowNs = rules.reduce((m, r) => maxNs(m, r.windowNs), 0n);
  const m = {
    seconds: deps.metrics.histogram('evaluation_seconds', 'Time to evaluate one rule over its windows.', [
      'rule',
    ]),
    findings: deps.metrics.counter('findings_total', 'Rule findings (rule fired for an owner in a window).', [
      'rule',
    ]),
    incidents: deps.metrics.counter('incident_changes_total', 'Incidents created or updated.', [
      'rule',
      'change',
    ]),
    ticks: deps.metrics.counter('ticks_total', 'Scheduled evaluations by outcome.', ['outcome']),
    lag: deps.metrics.gauge('evaluated_until_seconds', 'End of the newest evaluated window, Unix seconds.'),
  };

  let lastEndNs: bigint | undefined;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  let stopped = true;
  const abort = new AbortController();

  async function run(
    plan: WindowPlan,
    selected: readonly Rule[],
    book: Map<string, Incident>,
  ): Promise<EvaluationResult> {
    const findings: Finding[] = [];
    const ruleSeconds: Record<string, number> = {};
    for (const rule of selected) {
      const started = performance.now();
      const found = await evaluateRule(deps.store, rule, plan, {
        maxSamples: config.maxSamples,
        signal: abort.signal,
      });
      const secs = (performance.now() - started) / 1000;
      ruleSeconds[rule.id] = secs;
      m.seconds.observe({ rule: rule.id }, secs);
      m.findings.inc({ rule: rule.id }, found.length);
      findings.push(...found);
    }
    findings.sort((a, b) =>
      a.windowEndNs !== b.windowEndNs
        ? a.windowEndNs < b.windowEndNs
          ? -1
          : 1
        : a.rule.localeCompare(b.rule),
    );
    // One change per incident per evaluation: a catch-up over several windows notifies once.
    const touched = new Map<string, IncidentUpdate>();
    const nowMs = Date.now();
    for (const f of findings) {
      const rule = byId.get(f.rule);
      if (!rule) continue;
      const key = ownerKey(f.rule, f.owner);
      const res = applyFinding(book.get(key), f, rule, { quietNs, maxSamples: config.maxSamples, nowMs });
      if (!res) continue;
      book.set(key, res.incident);
      const prev = touched.get(res.incident.id);
      touched.set(res.incident.id, { incident: res.incident, change: prev?.change ?? res.change });
    }
    const updates = [...touched.values()];
    for (const u of updates) m.incidents.inc({ rule: u.incident.rule, change: u.change });
    return { plan, findings: findings.length, updates, ruleSeconds };
  }

  async function loadBook(sinceNs: bigint): Promise<Map<string, Incident>> {
    const book = new Map<string, Incident>();
    for (const i of await incidents.listOngoing(sinceNs)) {
      const key = ownerKey(i.rule, i);
      const cur = book.get(key);
      if (!cur || cur.lastSeenNs < i.lastSeenNs) book.set(key, i);
    }
    return book;
  }

  async function commit(result: EvaluationResult, notify: boolean): Promise<void> {
    await incidents.saveFromEngine(result.updates.map((u) => u.incident));
    if (!notify || !deps.notifier) return;
    for (const u of result.updates) {
      // Acknowledged incidents keep being updated but stop paging.
      if (u.incident.status === 'open') deps.notifier.notify(u.incident, u.change);
    }
  }

  async function tick(): Promise<EvaluationResult | undefined> {
    const endNs = alignDown(now() - lagNs, stepNs);
    let firstEndNs = lastEndNs === undefined ? endNs : lastEndNs + stepNs;
    if (firstEndNs > endNs) return undefined;
    const maxBack = BigInt(config.maxCatchUpIntervals - 1) * stepNs;
    if (endNs - firstEndNs > maxBack) {
      log.warn('alert evaluation fell behind; skipping old windows', {
        skipped_intervals: Number((endNs - firstEndNs - maxBack) / stepNs),
      });
      firstEndNs = endNs - maxBack;
    }
    const plan: WindowPlan = { firstEndNs, lastEndNs: endNs, stepNs };
    const book = await loadBook(firstEndNs - maxWindowNs - quietNs);
    const result = await run(
      plan,
      rules.filter((r) => r.enabled),
      book,
    );
    await commit(result, true);
    lastEndNs = endNs;
    m.lag.set(Number(endNs / NS));
    if (result.updates.length) {
      log.info('alert evaluation changed incidents', {
        created: result.updates.filter((u) => u.change === 'created').length,
        updated: result.updates.filter((u) => u.change === 'updated').length,
      });
    }
    return result;
  }

  function schedule(): void {
    if (stopped) return;
    const t = now();
    const next = alignDown(t - lagNs, stepNs) + stepNs + lagNs;
    const delayMs = Number((next - t) / 1_000_000n) + 50;
    timer = setTimeout(() => {
      const p = tick()
        .then(
          () => m.ticks.inc({ outcome: 'ok' }),
          (err) => {
            m.ticks.inc({ outcome: 'error' });
            if (!stopped) log.error('alert evaluation failed', { error: errorMessage(err) });
          },
        )
        .finally(() => {
          running = undefined;
          schedule();
        });
      running = p;
    }, delayMs);
    timer.unref();
  }

  return {
    rules,
    incidents,
    start() {
      if (!config.enabled || !stopped) return;
      stopped = false;
      log.info('alert engine started', {
        rules: rules.filter((r) => r.enabled).map((r) => r.id),
        interval_seconds: config.intervalSeconds,
      });
      schedule();
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      abort.abort(new Error('alert engine stopped'));
      await running?.catch(() => {});
    },
    tick,
    async evaluateRange(sinceNs, untilNs, opts = {}) {
      const selected = opts.rules
        ? rules.filter((r) => opts.rules?.includes(r.id))
        : rules.filter((r) => r.enabled);
      const plan = backfillPlan(sinceNs, untilNs, stepNs);
      const book = opts.persist
        ? await loadBook(sinceNs - maxWindowNs - quietNs)
        : new Map<string, Incident>();
      const result = await run(plan, selected, book);
      if (opts.persist) await commit(result, opts.notify ?? false);
      else if (opts.notify && deps.notifier)
        for (const u of result.updates) deps.notifier.notify(u.incident, u.change);
      return result;
    },
  };
}

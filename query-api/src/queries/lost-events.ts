/**
 * Lost events as the query side sees them: what Hubble reported lost (ring buffer overflow, perf
 * ring loss, relay drops), read from `lost_events`, so every deployment mode reports the same
 * numbers whichever process collected them. Shown in /api/v1/status, exported in /metrics, and
 * logged when new losses appear — at most once per check interval, so a loss storm is one line
 * every few seconds, not one per report. The built-in `lost-events` alert rule raises incidents.
 * @module
 */
import type { Store } from '../../../common/clickhouse/index.ts';
import { errorMessage } from '../../../common/errors.ts';
import type { Logger } from '../../../common/logger.ts';
import type { Metrics } from '../../../common/metrics.ts';

/** Totals of `lost_events`. */
export interface LostEventsSummary {
  /** Events reported lost, all time (within retention). */
  total: number;
  /** Events reported lost in the last hour. */
  lastHour: number;
  /** Loss reports (rows) stored. */
  reports: number;
  /** Time of the newest report (ISO 8601), or null. */
  lastAt: string | null;
}

/** Reads, exports and logs lost events. */
export interface LostEventsMonitor {
  /** Current totals (cached for a second so probes cannot pile queries up). */
  summary(): Promise<LostEventsSummary>;
  /** Starts the periodic check that logs new losses. */
  start(): void;
  stop(): void;
  /** Runs one check now (tests; the timer calls it too). */
  check(): Promise<void>;
}

/** Creates the monitor; `intervalMs` is both the check period and the log rate limit. */
export function createLostEventsMonitor(deps: {
  store: Store;
  logger: Logger;
  metrics: Metrics;
  intervalMs?: number;
}): LostEventsMonitor {
  const intervalMs = deps.intervalMs ?? 10_000;
  let cached: { at: number; value: LostEventsSummary } | undefined;
  let timer: NodeJS.Timeout | undefined;
  let logged: number | undefined;

  const read = async (): Promise<LostEventsSummary> => {
    const [r] = await deps.store.query<{ total: string; hour: string; reports: string; last: string | null }>(
      `SELECT toString(sum(num_events_lost)) AS total,
              toString(sumIf(num_events_lost, time >= now64(9, 'UTC') - INTERVAL 1 HOUR)) AS hour,
              toString(count()) AS reports,
              if(count() = 0, NULL, toString(max(time))) AS last
       FROM lost_events`,
      { settings: { max_execution_time: 5 } },
    );
    return {
      total: Number(r?.total ?? 0),
      lastHour: Number(r?.hour ?? 0),
      reports: Number(r?.reports ?? 0),
      lastAt: r?.last ? `${r.last.replace(' ', 'T')}Z` : null,
    };
  };
  const summary = async () => {
    if (cached && Date.now() - cached.at < 1000) return cached.value;
    // Stamped when the read starts: a read queued behind inserts (chdb runs inserts first) must
    // not pass for fresh when it returns, or status would show a stale count for another second.
    const at = Date.now();
    const value = await read();
    if (!cached || cached.at <= at) cached = { at, value };
    return value;
  };

  deps.metrics.gauge(
    'lost_events',
    'Events Hubble reported lost (stored in lost_events).',
    [],
    async function () {
      try {
        this.set((await summary()).total);
      } catch {
        // A scrape during a ClickHouse outage keeps the last value; /readyz reports the outage.
      }
    },
  );
  deps.metrics.gauge(
    'lost_events_last_hour',
    'Events Hubble reported lost in the last hour.',
    [],
    async function () {
      try {
        this.set((await summary()).lastHour);
      } catch {}
    },
  );

  const check = async () => {
    try {
      const s = await summary();
      if (logged === undefined ? s.lastHour > 0 : s.total > logged) {
        deps.logger.warn('hubble reported lost events: flows are missing from the record', {
          new: logged === undefined ? s.lastHour : s.total - logged,
          total: s.total,
          last_hour: s.lastHour,
          last_at: s.lastAt,
        });
      }
      logged = s.total;
    } catch (err) {
      deps.logger.debug('lost events check failed', { error: errorMessage(err) });
    }
  };

  return {
    summary,
    check,
    start() {
      if (timer) return;
      timer = setInterval(() => void check(), intervalMs);
      timer.unref();
      void check();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}

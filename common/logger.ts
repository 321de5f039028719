/**
 * Structured logging: one JSON object per line on stderr (lowercase messages, fields beside them).
 * A sampled logger keeps per-flow errors from flooding the log; it counts what it drops.
 * @module
 */

import { boundedJson } from './bounded-json.ts';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const levelRank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** A namespaced logger. Fields must never carry secrets (tokens, passwords). */
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(component: string): Logger;
}

/** Where log lines go; tests and the CLI's JSON modes swap it. */
export type LogWriter = (line: string) => void;

// bin/flowtrail.ts sets the level from FLOWTRAIL_LOG_LEVEL before any command runs.
let minLevel: LogLevel = 'info';
let writer: LogWriter = (line) => process.stderr.write(`${line}\n`);

/** Sets the process-wide minimum level and writer. */
export function configureLogging(opts: { level?: LogLevel; writer?: LogWriter }): void {
  if (opts.level) minLevel = opts.level;
  if (opts.writer) writer = opts.writer;
}

// Fields may hold client input (paths, bodies): bounded, and a log call never throws.
function serialize(fields: Record<string, unknown>): string {
  return boundedJson(fields, { maxChars: 1_000_000 });
}

/** Creates a logger whose lines carry `component`. */
export function createLogger(component: string): Logger {
  const log = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (levelRank[level] < levelRank[minLevel]) return;
    writer(serialize({ time: new Date().toISOString(), level, component, msg, ...fields }));
  };
  return {
    debug: (m, f) => log('debug', m, f),
    info: (m, f) => log('info', m, f),
    warn: (m, f) => log('warn', m, f),
    error: (m, f) => log('error', m, f),
    child: (name) => createLogger(`${component}.${name}`),
  };
}

/** Logs at most `perSecond` messages per key per second and reports how many it suppressed. */
export function createSampledLogger(logger: Logger, perSecond = 5) {
  const windows = new Map<string, { start: number; count: number; dropped: number }>();
  return (level: LogLevel, key: string, msg: string, fields?: Record<string, unknown>) => {
    const now = Date.now();
    let w = windows.get(key);
    if (!w || now - w.start >= 1000) {
      if (w && w.dropped > 0) logger.warn('log messages suppressed', { key, suppressed: w.dropped });
      w = { start: now, count: 0, dropped: 0 };
      windows.set(key, w);
    }
    if (w.count++ < perSecond) logger[level](msg, fields);
    else w.dropped++;
  };
}

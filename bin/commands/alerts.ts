/**
 * `flowtrail alerts evaluate --since T --until T [--json] [--rule ID…] [--store]`: runs the alert
 * rules over stored history, for backfill and for trying a threshold before enabling it. It
 * prints the incidents found (one JSON object per line with --json). By default nothing is
 * stored and no webhook is sent; `--store` writes the incidents (still without webhooks).
 * Thresholds come from the `alerts:` section of FLOWTRAIL_CONFIG.
 * @module
 */

import { openStore, storeConfigOf } from '../../common/clickhouse/index.ts';
import { migrate } from '../../common/clickhouse/migrator.ts';
import { InputError } from '../../common/errors.ts';
import { createLogger } from '../../common/logger.ts';
import { createMetrics } from '../../common/metrics.ts';
import { formatTimeNs, nowNs, parseTimeArg } from '../../common/time.ts';
import { createAlertEngine } from '../../query-api/src/alerts/engine.ts';
import { incidentJson } from '../../query-api/src/alerts/incidents.ts';
import { serviceConfig } from '../env.ts';
import { parseCommandArgs } from './args.ts';

/** The command's usage text (`flowtrail alerts --help`). */
export const usage = `usage: flowtrail alerts evaluate --since T [--until T] [--rule ID]… [--store] [--json]

  --since, --until   time range (RFC 3339, epoch ns, now, or relative like -1h); until defaults to now
  --rule             only this rule id (repeatable; disabled rules may be named)
  --store            store the incidents found (no webhooks are sent)
  --json             one incident JSON object per line
`;

/** Runs the command; returns the exit code. */
export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'evaluate') {
    process.stderr.write(
      sub && sub !== '--help' ? `flowtrail alerts: unknown subcommand "${sub}"\n\n${usage}` : usage,
    );
    return sub === '--help' ? 0 : 2;
  }
  const { values } = parseCommandArgs('alerts evaluate', rest, {
    since: { type: 'string' },
    until: { type: 'string' },
    rule: { type: 'string', multiple: true },
    store: { type: 'boolean' },
    json: { type: 'boolean' },
  });
  if (!values.since) throw new InputError('flowtrail alerts evaluate: --since is required', 'since');
  const now = nowNs();
  const sinceNs = parseTimeArg(values.since, now);
  const untilNs = values.until ? parseTimeArg(values.until, now) : now;
  if (sinceNs >= untilNs) throw new InputError('--since must be before --until', 'since');
  const loaded = serviceConfig();
  const config = loaded.config.alerts;
  const store = await openStore(storeConfigOf(loaded.env));
  try {
    await migrate(store, { ttlDays: loaded.env.FLOWTRAIL_TTL_DAYS });
    const engine = createAlertEngine(config, {
      store,
      logger: createLogger('alerts'),
      metrics: createMetrics('alerts'),
    });
    const known = new Set(engine.rules.map((r) => r.id));
    const unknown = (values.rule ?? []).filter((r) => !known.has(r));
    if (unknown.length)
      throw new InputError(
        `--rule: unknown rule ${unknown.join(', ')} (known: ${[...known].join(', ')})`,
        'rule',
      );
    const started = performance.now();
    const result = await engine.evaluateRange(sinceNs, untilNs, {
      persist: values.store ?? false,
      rules: values.rule,
    });
    const seconds = (performance.now() - started) / 1000;
    const incidents = result.updates
      .map((u) => u.incident)
      .sort((a, b) => (a.firstSeenNs < b.firstSeenNs ? -1 : 1));
    if (values.json) {
      for (const i of incidents) process.stdout.write(`${JSON.stringify(incidentJson(i))}\n`);
    } else {
      for (const i of incidents) {
        const who = [i.tenant || '-', i.account || '-', i.allocName || i.allocId || '-'].join('/');
        process.stdout.write(
          `${formatTimeNs(i.firstSeenNs)}  ${i.severity.padEnd(8)} ${i.rule.padEnd(16)} ${who}  ${i.summary}\n    evidence: ${i.evidenceUrl}\n`,
        );
      }
      const windows = Number((result.plan.lastEndNs - result.plan.firstEndNs) / result.plan.stepNs) + 1;
      process.stdout.write(
        `${incidents.length} incident(s) from ${result.findings} finding(s) over ${windows} window step(s) in ${seconds.toFixed(2)}s${values.store ? ', stored' : ' (dry run; --store to keep them)'}\n`,
      );
    }
    return 0;
  } finally {
    await store.close();
  }
}

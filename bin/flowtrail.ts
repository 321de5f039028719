/**
 * The `flowtrail` command: dispatches `flowtrail <command> [args…]` to bin/commands/<command>.ts,
 * each of which exports `run(argv): Promise<number>` (the exit code).
 * @module
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ConfigError, errorMessage, FlowtrailError } from '../common/errors.ts';
import { configureLogging, type LogLevel } from '../common/logger.ts';

const commandsDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'commands');

const usage = `usage: flowtrail <command> [options]

commands:
  start                  the embedded product: collector, API and UI (demo when no HUBBLE_SERVER)
  import <file…|->       import Hubble JSON lines (hubble observe -o json, exporter events.log)
  flows                  print stored flows (--ip, --from-ip, --to-ip, --verdict, --since, --until, --limit, --json)
  stats --json           stored flow counts by verdict, L4 and L7
  who <ip> --at <time>   who owned an address at an instant
  simulate --listen ADDR a Hubble-compatible traffic generator (gRPC Observer)
  migrate                apply ClickHouse migrations
  api                    the query API alone
  writer                 the Kafka → ClickHouse writer (distributed mode)
  alerts evaluate        run alert rules over stored history
  import-nomad-events    backfill ownership from captured Nomad event-stream NDJSON
  nomad-standin          a Nomad API stand-in for tests and the demo
  bench --json           ingest and query benchmarks
  evidence verify FILE   check an investigation's evidence bundle (hashes and signature)
  report import FILE     open a case from an abuse report (X-ARF JSON/YAML, ARF email)

environment: FLOWTRAIL_DATA_DIR (default ./data) or CLICKHOUSE_URL, FLOWTRAIL_CONFIG, HUBBLE_SERVER, …
`;

/** A command's usage from its line of the overview (commands without their own usage text). */
function commandUsage(name: string): string {
  const line = usage.split('\n').find((l) => l.trimStart().startsWith(`${name} `) || l.trim() === name);
  const [synopsis, ...what] = (line ?? name).trim().split(/\s{2,}/);
  return `usage: flowtrail ${synopsis}${what.length ? `\n\n  ${what.join(' ')}` : ''}\n\n${usage.slice(usage.indexOf('environment:'))}`;
}

const logLevels: readonly string[] = ['debug', 'info', 'warn', 'error'];

async function main(argv: string[]): Promise<number> {
  // Logging is configured before any command runs, so even a config error is logged at the right level.
  const level = process.env['FLOWTRAIL_LOG_LEVEL'] || 'info';
  if (!logLevels.includes(level))
    throw new ConfigError(`FLOWTRAIL_LOG_LEVEL must be one of ${logLevels.join(', ')}, got "${level}"`);
  configureLogging({ level: level as LogLevel });
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage);
    return name ? 0 : 2;
  }
  if (!/^[a-z][a-z0-9-]*$/.test(name) || !existsSync(path.join(commandsDir, `${name}.ts`))) {
    process.stderr.write(`flowtrail: unknown command "${name}"\n\n${usage}`);
    return 2;
  }
  // `start` by a literal path, so the bundle bin/flowtrail.js runs it from holds it (every other command
  // is loaded through tsx, from its file).
  const mod = (
    name === 'start'
      ? await import('./commands/start.ts')
      : await import(pathToFileURL(path.join(commandsDir, `${name}.ts`)).href)
  ) as {
    run(argv: string[]): Promise<number>;
    usage?: string;
  };
  // `--help` works the same on every command: its own usage text, else its line of the overview.
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(mod.usage ?? commandUsage(name));
    return 0;
  }
  return mod.run(rest);
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`flowtrail: ${errorMessage(err)}\n`);
  if (!(err instanceof FlowtrailError) && process.env['FLOWTRAIL_DEBUG']) console.error(err);
  process.exitCode = err instanceof FlowtrailError && !err.retriable ? 2 : 1;
}

/**
 * `flowtrail import <file…|->`: imports Hubble JSON lines (`hubble observe -o json`, exporter
 * events.log) into ClickHouse. Shows progress on a terminal; `--json` prints one summary object.
 * `--follow` keeps reading as the files grow and across rotation until SIGINT/SIGTERM, as a tail of
 * the Hubble exporter's events.log.
 * @module
 */

import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { ingestFiles } from '../../collector/src/ingest-files.ts';
import { createKafkaClient, kafkaConfigFromEnv } from '../../collector/src/kafka/config.ts';
import { createKafkaSink, defaultKafkaSinkConfig } from '../../collector/src/kafka/producer-sink.ts';
import type { ImportSummary } from '../../collector/src/sources/json-lines.ts';
import { openStore, storeConfigOf } from '../../common/clickhouse/index.ts';
import { migrate } from '../../common/clickhouse/migrator.ts';
import { InputError } from '../../common/errors.ts';
import { createLogger } from '../../common/logger.ts';
import { createMetrics } from '../../common/metrics.ts';
import { serviceConfig } from '../env.ts';
import { parseCommandArgs } from './args.ts';

/** One carriage-returned progress line: a bar when the total size is known, then counts and rate. */
function progressLine(s: ImportSummary, totalBytes: number | undefined, started: number): string {
  const rate = Math.round(s.read / Math.max(0.001, (Date.now() - started) / 1000));
  const counts = `${s.read.toLocaleString()} lines, ${s.rejected} rejected, ${rate.toLocaleString()}/s`;
  if (!totalBytes) return `\r${counts} `;
  const done = Math.min(1, s.chars / totalBytes);
  const width = 30;
  const filled = Math.round(done * width);
  return `\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(done * 100).toFixed(0).padStart(3)}% ${counts} `;
}

/** An AbortSignal that fires on SIGINT or SIGTERM (`--follow` runs until then). */
function stopOnSignal(): AbortSignal {
  const abort = new AbortController();
  const stop = () => abort.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return abort.signal;
}

/**
 * A directory stands for the regular files directly in it, in name order (an exporter's
 * events.log and its rotated siblings); an empty one is an error saying so, not a bare EISDIR.
 */
export function expandDirectories(paths: readonly string[]): string[] {
  return paths.flatMap((p) => {
    if (p === '-' || !statSync(p, { throwIfNoEntry: false })?.isDirectory()) return [p];
    const files = readdirSync(p, { withFileTypes: true })
      .filter((e) => e.isFile() && !e.name.startsWith('.'))
      .map((e) => path.join(p, e.name))
      .sort();
    if (files.length === 0)
      throw new InputError(`flowtrail import: ${p} is a directory with no files to import`);
    return files;
  });
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('import', argv, {
    json: { type: 'boolean' },
    follow: { type: 'boolean' },
  });
  if (positionals.length === 0)
    throw new InputError('flowtrail import: give one or more files, or - for stdin');
  const files = expandDirectories(positionals);
  const { env } = serviceConfig();
  const kafkaConfig = kafkaConfigFromEnv(env);
  // Distributed mode: produce to Kafka (the writers store); otherwise write to ClickHouse directly.
  const store = kafkaConfig ? undefined : await openStore(storeConfigOf(env));
  const tty = process.stderr.isTTY && !values.json;
  const started = Date.now();
  // Files have a size to show progress against; stdin and followed files don't.
  const totalBytes =
    values.follow || files.includes('-')
      ? undefined
      : files.reduce((n, f) => n + (statSync(f, { throwIfNoEntry: false })?.size ?? 0), 0);
  try {
    if (store) await migrate(store, { ttlDays: serviceConfig().env.FLOWTRAIL_TTL_DAYS });
    const logger = createLogger('import');
    const report = await ingestFiles({
      store,
      flowSink: kafkaConfig
        ? createKafkaSink(defaultKafkaSinkConfig, {
            kafka: createKafkaClient(kafkaConfig, logger.child('kafkajs'), 'import'),
            kafkaConfig,
            logger,
            metrics: createMetrics('import'),
          })
        : undefined,
      files,
      // Attributed at ingest like the collector: ownership table, labels, tenancy, scopes.
      tenancy: serviceConfig().config.tenancy,
      follow: values.follow,
      signal: values.follow ? stopOnSignal() : undefined,
      onProgress: tty
        ? (summary) => process.stderr.write(progressLine(summary, totalBytes, started))
        : undefined,
    });
    if (tty) process.stderr.write('\n');
    if (values.json) {
      const { read, imported, duplicates, rejected, errors } = report;
      process.stdout.write(`${JSON.stringify({ read, imported, duplicates, rejected, errors })}\n`);
    } else {
      process.stdout.write(
        `read ${report.read} lines: ${report.imported} flows imported, ${report.duplicates} already stored, ` +
          `${report.rejected} rejected, ${report.skipped} agent/debug/node events skipped, ` +
          `${report.lost_events} lost-event reports (${((Date.now() - started) / 1000).toFixed(1)} s)\n`,
      );
      for (const e of report.errors) process.stdout.write(`  ${e.file}:${e.line}: ${e.reason}\n`);
      if (report.rejected > report.errors.length) {
        process.stdout.write(`  … and ${report.rejected - report.errors.length} more rejected lines\n`);
      }
    }
    return report.rejected > 0 ? 1 : 0;
  } finally {
    await store?.close();
  }
}

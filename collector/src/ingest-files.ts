/**
 * One-shot import of JSON-lines files into ClickHouse: the `flowtrail import` command and tests
 * use it. It wires the JSON-lines source to a ClickHouse sink, waits until everything is
 * stored, and reports what was read, stored, skipped as duplicates, and rejected.
 * @module
 */
import type { Store } from '../../common/clickhouse/index.ts';
import type { TenancyConfig } from '../../common/config/tenancy.ts';
import { ConfigError } from '../../common/errors.ts';
import { createLogger } from '../../common/logger.ts';
import { createMetrics } from '../../common/metrics.ts';
import { createAttribution } from './attribution.ts';
import { type AttributeFlow, createIntake } from './pipeline.ts';
import { emptySummary, type ImportSummary, importJsonLines, type LineError } from './sources/json-lines.ts';
import {
  type ClickHouseSinkConfig,
  createClickHouseSink,
  defaultClickHouseSinkConfig,
  type FlowSink,
} from './writer/clickhouse-sink.ts';

/** The result `flowtrail import --json` prints. */
export interface IngestReport {
  read: number;
  imported: number;
  duplicates: number;
  rejected: number;
  skipped: number;
  lost_events: number;
  errors: LineError[];
}

export interface IngestFilesOptions {
  /** The ClickHouse store; not needed with `flowSink`. */
  store?: Store;
  /** Paths, or '-' for stdin. */
  files: readonly string[];
  /** Attributes both ends of each flow before storage (overrides `tenancy`). */
  attribute?: AttributeFlow;
  /**
   * Attribute at ingest the way the collector does (collector/src/attribution.ts): the ownership
   * table of `store` (loaded once), netreap labels, these tenancy rules and address scopes.
   * Without a store (Kafka mode) labels, tenancy and scopes still apply.
   */
  tenancy?: TenancyConfig;
  sink?: Partial<ClickHouseSinkConfig>;
  /** Where flows go instead of a ClickHouse sink on `store` (Kafka in distributed mode); started and stopped here. */
  flowSink?: FlowSink;
  onProgress?: (summary: ImportSummary) => void;
  /** Keep reading each file as it grows and across rotation, until `signal` aborts. */
  follow?: boolean;
  signal?: AbortSignal;
}

/** Flows per batch of an import without follow (see below). */
const importBatchSize = 100_000;

/** Imports the files and resolves once every flow is stored. */
export async function ingestFiles(opts: IngestFilesOptions): Promise<IngestReport> {
  if (!opts.flowSink && !opts.store) throw new ConfigError('import: needs a store or a sink');
  const sink =
    opts.flowSink ??
    createClickHouseSink(
      // Without follow, batches are cut by count only: the same files give the same batches (and
      // tokens), so importing them again is skipped whole by ClickHouse. The count stays 100,000
      // (the sink's default before it became 50,000 for `start`'s memory): a file imported by an
      // earlier version gets the same tokens when imported again.
      {
        ...defaultClickHouseSinkConfig,
        ...(opts.follow ? {} : { flushIntervalMs: 0, batchSize: importBatchSize }),
        ...opts.sink,
      },
      { store: opts.store!, logger: createLogger('import'), metrics: createMetrics('import') },
    );
  const attribution =
    opts.attribute || !opts.tenancy
      ? undefined
      : createAttribution({
          tenancy: opts.tenancy,
          store: opts.store,
          logger: createLogger('import'),
          metrics: createMetrics('import'),
        });
  await attribution?.start();
  sink.start();
  const intake = createIntake(sink, opts.attribute ?? attribution?.attribute);
  const summary = emptySummary();
  try {
    for (const file of opts.files)
      await importJsonLines(
        intake,
        file,
        { onProgress: opts.onProgress, follow: opts.follow, signal: opts.signal },
        summary,
      );
    await sink.flush();
  } finally {
    await sink.stop();
    await attribution?.stop();
  }
  const stats = sink.stats();
  return {
    read: summary.read,
    imported: stats.stored,
    duplicates: stats.duplicates,
    rejected: summary.rejected,
    skipped: summary.skipped,
    lost_events: summary.lostEvents,
    errors: summary.errors,
  };
}

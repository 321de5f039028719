/**
 * `flowtrail import-nomad-events <file…|->`: backfills ownership from captured
 * `/v1/event/stream` NDJSON (for history from before Flowtrail ran). Every frame is applied in
 * replay mode, merging with what is stored, so importing the same capture twice changes
 * nothing. Flows already stored as nobody's that the imported intervals own are then corrected
 * (common/ownership/correct.ts) so alerts and dashboards see their owner. A malformed line is counted and reported with its file and line number; the rest of
 * the file is imported. Prints a JSON summary.
 * @module
 */

import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseNomadJson } from '../../collector/src/nomad/json.ts';
import { toEventFrame } from '../../collector/src/nomad/types.ts';
import { createOwnershipTracker } from '../../collector/src/ownership/tracker.ts';
import { openStore, storeConfigOf } from '../../common/clickhouse/index.ts';
import { migrate } from '../../common/clickhouse/migrator.ts';
import type { Store } from '../../common/clickhouse/store.ts';
import { defaultTenancyConfig, type TenancyConfig } from '../../common/config/tenancy.ts';
import { errorMessage } from '../../common/errors.ts';
import { type CorrectionReport, correctLateOwners } from '../../common/ownership/correct.ts';
import { serviceConfig } from '../env.ts';

/** The summary printed at the end (also returned for tests and the demo). */
export interface ImportSummary {
  files: number;
  lines: number;
  frames: number;
  heartbeats: number;
  events: number;
  malformed: { file: string; line: number; error: string }[];
  intervals: number;
  /**
   * Flows stored before these owners were known, now corrected in storage and the rollups
   * (common/ownership/correct.ts), over the time span of the imported intervals.
   */
  corrected?: CorrectionReport;
}

/** Imports the files into the store's ownership table. */
export async function importNomadEvents(
  store: Store,
  files: readonly string[],
  tenancy: TenancyConfig = defaultTenancyConfig,
): Promise<ImportSummary> {
  const tracker = createOwnershipTracker({ tenancy, flushIntervalMs: 2000, resyncConcurrency: 1 }, { store });
  await tracker.start();
  const summary: ImportSummary = {
    files: 0,
    lines: 0,
    frames: 0,
    heartbeats: 0,
    events: 0,
    malformed: [],
    intervals: 0,
  };
  try {
    for (const file of files) {
      summary.files++;
      const input = file === '-' ? process.stdin : createReadStream(file, { encoding: 'utf8' });
      const rl = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
      let n = 0;
      for await (const raw of rl) {
        n++;
        const line = raw.trim();
        if (!line) continue;
        summary.lines++;
        try {
          const frame = toEventFrame(parseNomadJson(line));
          if (frame.events.length === 0) {
            summary.heartbeats++;
            continue;
          }
          tracker.applyFrame(frame, { replay: true });
          summary.frames++;
          summary.events += frame.events.length;
        } catch (err) {
          summary.malformed.push({ file, line: n, error: errorMessage(err) });
        }
      }
    }
  } finally {
    await tracker.stop();
  }
  summary.intervals = tracker.stats().intervals + tracker.stats().nodeIntervals;
  if (summary.frames > 0) summary.corrected = await correctLateOwners(store, { tenancy });
  return summary;
}

/** Runs the command; exit code 1 when some lines were malformed (the rest is imported). */
export async function run(argv: string[]): Promise<number> {
  const files = argv.filter((a) => a !== '--');
  if (files.length === 0 || files.includes('--help') || files.includes('-h')) {
    process.stderr.write('usage: flowtrail import-nomad-events <file…|->\n');
    return files.length === 0 ? 2 : 0;
  }
  const store = await openStore(storeConfigOf(serviceConfig().env));
  try {
    await migrate(store, { ttlDays: serviceConfig().env.FLOWTRAIL_TTL_DAYS });
    const summary = await importNomadEvents(store, files, serviceConfig().config.tenancy);
    for (const m of summary.malformed)
      process.stderr.write(`${m.file}:${m.line}: malformed line: ${m.error}\n`);
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    return summary.malformed.length > 0 ? 1 : 0;
  } finally {
    await store.close();
  }
}

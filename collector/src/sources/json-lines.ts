/**
 * The JSON-lines source: `hubble observe -o json` output and exporter `events.log` files, one
 * GetFlowsResponse / ExportEvent object per line. Flows go to the intake; lost events are
 * recorded; agent_event, debug_event and node_status lines are skipped and counted. A malformed
 * line is counted and reported with its file, line number and reason, and reading goes on.
 * @module
 */

import { errorMessage } from '../../../common/errors.ts';
import { contentFlowId, flowIdFromUuid } from '../../../common/flow/flow-id.ts';
import { ingestFlow, nowNs, timestampToNs } from '../../../common/flow/model.ts';
import { createMetrics } from '../../../common/metrics.ts';
import type { ExportEvent } from '../../../proto/gen/observer/observer.ts';
import { parseHubbleJson } from '../../../proto/src/hubble-json.ts';
import type { FlowIntake } from '../pipeline.ts';
import { type LineReaderOptions, readLines } from './line-reader.ts';

/** One rejected line. */
export interface LineError {
  file: string;
  line: number;
  reason: string;
}

/** What one import read and did. */
export interface ImportSummary {
  /** Non-empty lines read. */
  read: number;
  /** Flows handed to storage. */
  flows: number;
  /** agent_event / debug_event / node_status lines skipped. */
  skipped: number;
  /** Lost-event lines recorded. */
  lostEvents: number;
  /** Lines that could not be parsed. */
  rejected: number;
  /** The first `maxErrors` rejected lines, with reasons. */
  errors: LineError[];
  /** Characters read, newlines included (≈ bytes for ASCII JSON): drives the progress bar. */
  chars: number;
}

export interface JsonLinesOptions extends LineReaderOptions {
  /** Rejected lines kept in the summary (all are counted). Default 100. */
  maxErrors?: number;
  /** Called every `progressEvery` lines. */
  onProgress?: (summary: ImportSummary) => void;
  progressEvery?: number;
}

/** The default cap of one line: far above any real Hubble JSON line (a few KiB, L7 included). */
export const defaultMaxLineBytes = 1_048_576;

const metrics = (() => {
  const m = createMetrics('json_lines');
  return {
    rejected: m.counter('lines_rejected_total', 'JSON lines that could not be imported'),
    skipped: m.counter('lines_skipped_total', 'agent_event, debug_event and node_status lines skipped'),
  };
})();

/** Parses one line into an ExportEvent; throws with a reason (naming the field) when it isn't one. */
export function parseLine(text: string): ExportEvent {
  const json: unknown = (() => {
    try {
      return JSON.parse(text);
    } catch (err) {
      throw new Error(`invalid JSON: ${errorMessage(err)}`);
    }
  })();
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new Error('expected a JSON object like {"flow":{…},"node_name":…,"time":…}');
  }
  return parseHubbleJson(json);
}

/** Imports one file (or '-' for stdin) into the intake, returning what happened. */
export async function importJsonLines(
  intake: FlowIntake,
  file: string,
  opts: JsonLinesOptions = {},
  summary: ImportSummary = emptySummary(),
): Promise<ImportSummary> {
  const maxErrors = opts.maxErrors ?? 100;
  const progressEvery = opts.progressEvery ?? 10_000;
  // Longer lines are rejected unread (one 50 MB line must not become one flow, nor 50 MB of memory).
  const maxLineBytes = opts.maxLineBytes ?? defaultMaxLineBytes;
  const target = file === '-' ? 'stdin' : file;
  let lastFlowNs = 0n;
  let lineNo = 0;
  const reject = (reason: string) => {
    summary.rejected++;
    metrics.rejected.inc();
    if (summary.errors.length < maxErrors) summary.errors.push({ file: target, line: lineNo, reason });
  };
  for await (const line of readLines(file, { ...opts, maxLineBytes })) {
    const text = line.text;
    lineNo = line.lineNo;
    summary.chars += (line.tooLong ?? text.length) + 1;
    if (line.tooLong === undefined && text.trim().length === 0) continue;
    summary.read++;
    if (opts.onProgress && summary.read % progressEvery === 0) opts.onProgress(summary);
    if (line.tooLong !== undefined) {
      reject(`line of ${line.tooLong} bytes is longer than the ${maxLineBytes} allowed`);
      continue;
    }
    let event: ExportEvent;
    try {
      event = parseLine(text);
    } catch (err) {
      reject(errorMessage(err));
      continue;
    }
    const responseNs = timestampToNs(event.time);
    if (event.flow) {
      const flow = event.flow;
      const timeNs = timestampToNs(flow.time) ?? responseNs;
      if (timeNs === undefined) {
        reject('flow has no time (flow.time and time are both missing)');
        continue;
      }
      lastFlowNs = timeNs;
      summary.flows++;
      const more = intake.accept(
        ingestFlow(flow, {
          nodeName: event.node_name || flow.node_name,
          timeNs,
          flowId: flow.uuid ? flowIdFromUuid(flow.uuid) : contentFlowId(text),
          target,
          receivedAtNs: nowNs(),
        }),
      );
      if (!more) await intake.drained();
    } else if (event.lost_events) {
      summary.lostEvents++;
      intake.lost({
        target,
        nodeName: event.node_name,
        event: event.lost_events,
        timeNs: responseNs ?? nowNs(),
        windowStartNs: lastFlowNs,
      });
    } else if (event.agent_event || event.debug_event || event.node_status) {
      summary.skipped++;
      metrics.skipped.inc();
    } else {
      reject('line holds no flow, lost_events, node_status, agent_event or debug_event');
    }
  }
  return summary;
}

/** A zeroed summary, to accumulate over several files. */
export function emptySummary(): ImportSummary {
  return { read: 0, flows: 0, skipped: 0, lostEvents: 0, rejected: 0, errors: [], chars: 0 };
}

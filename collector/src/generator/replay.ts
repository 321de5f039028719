/**
 * @module Replays Hubble JSON-lines files (`hubble observe -o json`, exporter events.log) through the
 * Observer server with their original times. Without a rate, every event is in the ring at start (the
 * ring grows to hold the whole file, so `--all` returns it exactly); with a rate, events enter the ring
 * at that pace and followers see them arrive. agent_event/debug_event lines are skipped and counted; a
 * malformed line is counted and logged with its file and line number, and the rest is still replayed.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { ConfigError, errorMessage } from '../../../common/errors.ts';
import { createLogger, type Logger } from '../../../common/logger.ts';
import { GetFlowsResponse } from '../../../proto/gen/observer/observer.js';
import { hubbleEventKind, parseHubbleJson } from '../../../proto/src/hubble-json.ts';
import { HUBBLE_RING_SIZE } from './config.ts';
import type { RingEvent } from './ring.ts';
import { type FlowSupply, SupplyBook, splitTime } from './supply.ts';

/** Options of `createReplay`. */
export interface ReplayConfig {
  /** JSON-lines files, replayed in order. */
  files: readonly string[];
  /** Events per second; 0 = all at once. @default 0 */
  rate?: number;
  /** Ring capacity when paced (unpaced replays hold the whole input). @default 4095 */
  maxFlows?: number;
  /** Start over after the last event (paced only). @default false */
  loop?: boolean;
  /** Pacing tick in milliseconds. @default 10 */
  tickMs?: number;
}

/** A line that could not be replayed. */
export interface ReplayProblem {
  file: string;
  line: number;
  reason: string;
}

/** A replay supply, with what loading found. */
export interface Replay extends FlowSupply {
  /** Events loaded (flows, lost events, node status). */
  readonly loaded: number;
  /** agent_event / debug_event lines skipped. */
  readonly skipped: number;
  /** Malformed lines (first 100 kept). */
  readonly problems: readonly ReplayProblem[];
  /** Number of malformed lines. */
  readonly rejected: number;
}

/** Loads one file's events. */
async function loadFile(
  file: string,
  out: RingEvent[],
  onProblem: (p: ReplayProblem) => void,
): Promise<number> {
  let skipped = 0;
  let lineNo = 0;
  const rl = createInterface({ input: createReadStream(file), crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of rl) {
    lineNo++;
    if (line.trim() === '') continue;
    try {
      const ev = parseHubbleJson(line);
      const kind = hubbleEventKind(ev);
      if (kind === 'agent_event' || kind === 'debug_event') {
        skipped++;
        continue;
      }
      if (kind === undefined) throw new Error('line carries no flow, lost_events or node_status');
      const response: GetFlowsResponse = { node_name: ev.node_name, time: ev.time };
      if (ev.flow) response.flow = ev.flow;
      if (ev.lost_events) response.lost_events = ev.lost_events;
      if (ev.node_status) response.node_status = ev.node_status;
      if (response.time === undefined) response.time = ev.flow?.time;
      const { seconds, nanos } = splitTime(response.time);
      out.push({
        kind,
        response,
        seconds,
        nanos,
        encoded: GetFlowsResponse.encode(response).finish(),
      });
    } catch (err) {
      onProblem({ file, line: lineNo, reason: errorMessage(err) });
    }
  }
  return skipped;
}

/** Creates a replay; files are read at `start()`. */
export function createReplay(config: ReplayConfig, deps: { logger?: Logger } = {}): Replay {
  const log = (deps.logger ?? createLogger('generator')).child('replay');
  const rate = config.rate ?? 0;
  const tickMs = config.tickMs ?? 10;
  const maxFlows = config.maxFlows ?? HUBBLE_RING_SIZE;
  if (config.files.length === 0) throw new ConfigError('replay needs at least one file');
  if (!(rate >= 0) || !Number.isFinite(rate))
    throw new ConfigError(`replay rate must be a number ≥ 0, got ${rate}`);
  let book = new SupplyBook(maxFlows);
  let events: RingEvent[] = [];
  let skipped = 0;
  let rejected = 0;
  const problems: ReplayProblem[] = [];
  let timer: NodeJS.Timeout | undefined;
  let index = 0;

  let pushed = 0;
  const tick = (t0: number) => {
    timer = undefined;
    const due = Math.min(Math.floor(((Date.now() - t0) * rate) / 1000) - pushed, Math.max(1, rate));
    for (let i = 0; i < due; i++) {
      if (index >= events.length) {
        if (!config.loop || events.length === 0) break;
        index = 0;
      }
      const ev = events[index++];
      if (ev) book.push(ev);
      pushed++;
    }
    book.ring.notify();
    if (index < events.length || (config.loop && events.length > 0))
      timer = setTimeout(() => tick(t0), tickMs);
    else log.info('replay finished', { events: events.length });
  };

  return {
    get ring() {
      return book.ring;
    },
    get loaded() {
      return events.length;
    },
    get skipped() {
      return skipped;
    },
    get rejected() {
      return rejected;
    },
    problems,
    describe: () =>
      `replay of ${config.files.length} file(s), ${events.length} events${rate > 0 ? ` at ${rate}/s` : ''}${config.loop ? ', looping' : ''}`,
    nodeNames: () => book.nodeNames(),
    namespaces: () => book.namespaces(),
    flowsRate: () => book.flowsRate(),
    async start() {
      events = [];
      for (const file of config.files) {
        skipped += await loadFile(file, events, (p) => {
          rejected++;
          if (problems.length < 100) problems.push(p);
          log.warn('malformed line skipped', { file: p.file, line: p.line, reason: p.reason });
        });
      }
      book = new SupplyBook(rate > 0 ? maxFlows : Math.max(maxFlows, events.length));
      log.info('replay loaded', { files: config.files.length, events: events.length, skipped, rejected });
      if (rate === 0) {
        for (const ev of events) book.push(ev);
        index = events.length;
        book.ring.notify();
      } else {
        index = 0;
        pushed = 0;
        tick(Date.now());
      }
    },
    async stop() {
      if (timer) clearTimeout(timer);
      timer = undefined;
      book.ring.close();
    },
  };
}

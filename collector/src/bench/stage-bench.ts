/**
 * CPU per flow of each stage of the embedded hot path, for `flowtrail bench`: the same functions
 * the collector runs, over the frames the end-to-end run serves, one stage at a time on this
 * thread, timed by CPU (user + system) rather than wall time, so a loaded machine moves them little:
 * - decode: the GetFlowsResponse read and the one walk of the Flow's bytes (`wireFlow`);
 * - encode: the RowBinary row written from that walk (decode + encode as the pipeline runs them,
 *   less decode alone);
 * - dedup: the window of recent flow ids and the batch token.
 * Enrichment and the insert are measured where they live (enrich/bench.ts, the raw insert).
 * @module
 */
import { RowBinaryWriter } from '../../../common/clickhouse/row-binary.ts';
import { encodeFlowRow, type WireFlow, wireFlow } from '../../../common/schema/flow-wire.ts';
import { decodeRawFlowsResponse } from '../sources/hubble-grpc.ts';
import { BatchToken } from '../writer/flow-insert.ts';
import { RecentIds } from '../writer/recent-ids.ts';
import type { EncodedFrames } from './frame-server.ts';

/** CPU microseconds per flow of each stage. */
export interface StageCosts {
  decode: number;
  encode: number;
  dedup: number;
}

const cpuUs = (start: NodeJS.CpuUsage) => {
  const d = process.cpuUsage(start);
  return d.user + d.system;
};

/** Runs each stage over `rounds` passes of the frames (GetFlowsResponse gRPC messages). */
export function benchStages(encoded: EncodedFrames, rounds = 4): StageCosts {
  const messages = encoded.frames.map((f) => f.subarray(5));
  const n = messages.length * rounds;
  const now = 1_700_000_000_000_000_000n;
  const fallback = () => now;
  const walk = (m: Buffer): WireFlow => {
    const res = decodeRawFlowsResponse(m);
    return wireFlow(res.flowBytes!, res.nodeName, 'bench', now, fallback);
  };
  // Warm up, so every stage is measured compiled.
  const w = new RowBinaryWriter(64 << 20);
  for (const m of messages.slice(0, 5_000)) encodeFlowRow(w, walk(m));
  w.reset();

  let t = process.cpuUsage();
  const flows: WireFlow[] = new Array(messages.length);
  for (let r = 0; r < rounds; r++) for (let i = 0; i < messages.length; i++) flows[i] = walk(messages[i]!);
  const decode = cpuUs(t) / n;

  t = process.cpuUsage();
  for (let r = 0; r < rounds; r++) {
    for (const m of messages) encodeFlowRow(w, walk(m));
    w.reset();
  }
  const decodeEncode = cpuUs(t) / n;

  const seen = new RecentIds(1_000_000);
  const token = new BatchToken();
  t = process.cpuUsage();
  for (let r = 0; r < rounds; r++) {
    for (const f of flows) if (seen.add(f.flowId)) token.add(f.flowId);
    seen.clear();
    token.take();
  }
  const dedup = cpuUs(t) / n;
  const round = (v: number) => Math.round(v * 100) / 100;
  return { decode: round(decode), encode: round(decodeEncode - decode), dedup: round(dedup) };
}

/**
 * The Hubble filter golden answers (../shared/fixtures/hubble-filters/golden.json): for each argument
 * list, the fixture flows the stock `hubble` CLI selects, named `"<flow.time> <node_name>"`. Names are
 * compared as `<unix ns> <node>` so the timestamp's textual form does not matter.
 * @module
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fixturesDir } from './fixtures.ts';

/** One golden case. */
export interface GoldenCase {
  args: string[];
  count: number;
  /** Flow keys (see flowKey). */
  flows: Set<string>;
}

const goldenFile = path.join(fixturesDir, 'hubble-filters', 'golden.json');

/** True when the golden file is present. */
export const haveGolden = existsSync(goldenFile);

/** RFC 3339 text → Unix nanoseconds as a decimal string. */
export function rfc3339Ns(text: string): string {
  const m = /^(.*?)(?:\.(\d{1,9}))?Z$/.exec(text);
  if (!m) throw new Error(`not an RFC 3339 UTC time: ${text}`);
  const secs = BigInt(Date.parse(`${m[1]}Z`) / 1000);
  return (secs * 1_000_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'))).toString();
}

/** The key of a flow: its time in Unix ns and its node name. */
export function flowKey(timeNs: bigint | string, nodeName: string): string {
  return `${timeNs} ${nodeName}`;
}

/** Every golden case (empty when the file is absent). */
export function goldenCases(): GoldenCase[] {
  if (!haveGolden) return [];
  const d = JSON.parse(readFileSync(goldenFile, 'utf8')) as {
    cases: { args: string[]; count: number; flows?: string[]; error?: string }[];
  };
  return d.cases
    .filter((c) => c.error === undefined)
    .map((c) => ({
      args: c.args,
      count: c.count,
      flows: new Set(
        (c.flows ?? []).map((n) => {
          const sp = n.indexOf(' ');
          return flowKey(rfc3339Ns(n.slice(0, sp)), n.slice(sp + 1));
        }),
      ),
    }));
}

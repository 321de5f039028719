/**
 * Every real recorded Hubble JSON line (../shared/fixtures/hubble/**) survives JSON → message → wire bytes
 * → message → JSON unchanged: as a JSON value, and even as text, byte for byte.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { describeWithFixtures, fixturesDir, hubbleFixtureFiles } from '../../common/testing/fixtures.js';
import { ExportEvent, GetFlowsResponse } from '../gen/observer/observer.js';
import { hubbleEventKind, parseHubbleJson, toHubbleJson, toHubbleJsonLine } from './hubble-json.js';

interface LineFailure {
  line: number;
  problem: string;
}

function roundTrip(text: string): string | undefined {
  const original = JSON.parse(text);
  const event = parseHubbleJson(original, { ignoreUnknownFields: false });
  if (hubbleEventKind(event) === undefined) return 'no flow/node_status/lost_events in the line';
  const bytes = ExportEvent.encode(event).finish();
  const decoded = ExportEvent.decode(bytes);
  try {
    expect(decoded).toStrictEqual(event);
    expect(toHubbleJson(decoded)).toStrictEqual(original);
    // GetFlowsResponse shares numbers 1-3, 1000 and 1001 with ExportEvent: the same bytes read as one.
    expect(toHubbleJson(GetFlowsResponse.decode(bytes))).toStrictEqual(original);
  } catch (error) {
    return (error as Error).message.split('\n').slice(0, 12).join('\n');
  }
  if (toHubbleJsonLine(decoded) !== text) return 'same JSON value but different text';
  return undefined;
}

describeWithFixtures('proto > hubble-json > fixtures', () => {
  const files = hubbleFixtureFiles();

  it('finds the 1,918 recorded lines in 10 files', () => {
    const lines = files.flatMap((f) => readFileSync(f, 'utf8').split('\n').filter(Boolean));
    expect(files).toHaveLength(10);
    expect(lines).toHaveLength(1918);
  });

  it.each(files.map((file) => ({ name: path.relative(fixturesDir, file), file })))(
    'round-trips every line of $name through the wire format',
    ({ file }) => {
      const failures: LineFailure[] = [];
      const lines = readFileSync(file, 'utf8').split('\n');
      lines.forEach((text, i) => {
        if (text === '') return;
        try {
          const problem = roundTrip(text);
          if (problem) failures.push({ line: i + 1, problem });
        } catch (error) {
          failures.push({ line: i + 1, problem: String(error) });
        }
      });
      expect(failures.slice(0, 3)).toEqual([]);
    },
  );
});

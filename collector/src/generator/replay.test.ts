import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configureLogging } from '../../../common/logger.ts';
import { describeWithFixtures, hubbleFixtureFiles } from '../../../common/testing/fixtures.ts';
import { toHubbleJson } from '../../../proto/src/hubble-json.ts';
import { startObserverServer } from './observer-server.ts';
import { createReplay } from './replay.ts';
import { collectFlows, flowsRequest, observerClients, takeFlows } from './testing.ts';

configureLogging({ level: 'error' });

describeWithFixtures('collector > generator > replay (fixtures)', () => {
  it.each(
    hubbleFixtureFiles().map((file) => ({
      file: path.relative(path.dirname(path.dirname(file)), file),
      abs: file,
    })),
  )('serves exactly the lines of $file', async ({ abs }) => {
    const lines = readFileSync(abs, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '');
    const replay = createReplay({ files: [abs] });
    await replay.start();
    const server = await startObserverServer({ listen: '127.0.0.1:0', supply: replay });
    const c = observerClients(server.address);
    try {
      expect(replay.rejected).toBe(0);
      const got = await collectFlows(c.observer, flowsRequest({ number: 2n ** 64n - 1n }));
      expect(got.map((r) => toHubbleJson(r))).toEqual(lines.map((l) => JSON.parse(l)));
    } finally {
      c.close();
      await replay.stop();
      await server.stop(200);
    }
  });
});

describe('collector > generator > replay', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'flowtrail-replay-'));
  const file = path.join(dir, 'flows.jsonl');
  const line = (i: number) =>
    JSON.stringify({
      flow: {
        time: `2024-01-01T10:00:${String(i).padStart(2, '0')}Z`,
        uuid: `00000000-0000-4000-8000-0000000000${String(i).padStart(2, '0')}`,
        verdict: i % 2 ? 'DROPPED' : 'FORWARDED',
        IP: { source: `10.0.0.${i}`, destination: '10.0.1.1', ipVersion: 'IPv4' },
        node_name: 'n1',
      },
      node_name: 'n1',
      time: `2024-01-01T10:00:${String(i).padStart(2, '0')}Z`,
    });
  beforeAll(() => {
    writeFileSync(
      file,
      [
        line(1),
        line(2),
        '{"flow": oops',
        line(3),
        '{"agent_event":{},"node_name":"n1","time":"2024-01-01T10:00:04Z"}',
        line(5),
        '',
      ].join('\n'),
    );
  });
  afterAll(() => {});

  it('skips malformed and agent-event lines, counting them with line numbers', async () => {
    const replay = createReplay({ files: [file] });
    await replay.start();
    expect(replay.loaded).toBe(4);
    expect(replay.skipped).toBe(1);
    expect(replay.rejected).toBe(1);
    expect(replay.problems[0]).toMatchObject({ file, line: 3 });
    await replay.stop();
  });

  it('keeps original times, so since/until work on them', async () => {
    const replay = createReplay({ files: [file] });
    await replay.start();
    const server = await startObserverServer({ listen: '127.0.0.1:0', supply: replay });
    const c = observerClients(server.address);
    try {
      const got = await collectFlows(
        c.observer,
        flowsRequest({
          since: { seconds: 1704103202n, nanos: 0 },
          until: { seconds: 1704103203n, nanos: 0 },
        }),
      );
      expect(got.map((r) => r.flow?.uuid)).toEqual([
        '00000000-0000-4000-8000-000000000002',
        '00000000-0000-4000-8000-000000000003',
      ]);
    } finally {
      c.close();
      await replay.stop();
      await server.stop(200);
    }
  });

  it('paces a replay with a rate and lets followers see it arrive', async () => {
    const replay = createReplay({ files: [file], rate: 100, tickMs: 5 });
    await replay.start();
    const server = await startObserverServer({ listen: '127.0.0.1:0', supply: replay });
    const c = observerClients(server.address);
    try {
      const got = await takeFlows(
        c.observer,
        flowsRequest({ follow: true, since: { seconds: 0n, nanos: 0 } }),
        4,
      );
      expect(got.map((r) => r.flow?.IP?.source)).toEqual(['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.5']);
    } finally {
      c.close();
      await replay.stop();
      await server.stop(200);
    }
  });
});

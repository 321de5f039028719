import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import {
  describeWithFixtures,
  hubbleFixtureFiles,
  nomadFixture,
  repoRoot,
} from '../common/testing/fixtures.ts';

const exec = promisify(execFile);
const dataDir = mkdtempSync(path.join(tmpdir(), 'flowtrail-cli-'));
const cli = (...args: string[]) =>
  exec('node', [path.join(repoRoot, 'bin/flowtrail.js'), ...args], {
    env: { ...process.env, FLOWTRAIL_DATA_DIR: dataDir, CLICKHOUSE_URL: '' },
    cwd: repoRoot,
  });

/** Counts computed straight from the fixture text, independently of the importer. */
function expectedStats() {
  const lines = new Set(
    hubbleFixtureFiles().flatMap((f) => readFileSync(f, 'utf8').split('\n').filter(Boolean)),
  );
  const stats = {
    total: 0,
    by_verdict: {} as Record<string, number>,
    by_l4: {} as Record<string, number>,
    by_l7: {} as Record<string, number>,
  };
  const bump = (o: Record<string, number>, k: string) => {
    o[k] = (o[k] ?? 0) + 1;
  };
  for (const line of lines) {
    const flow = JSON.parse(line).flow;
    stats.total++;
    bump(stats.by_verdict, flow.verdict ?? 'VERDICT_UNKNOWN');
    const l4 = Object.keys(flow.l4 ?? {})[0];
    if (l4) bump(stats.by_l4, l4);
    const l7 = ['dns', 'http', 'kafka'].find((k) => flow.l7?.[k]);
    if (l7) bump(stats.by_l7, l7);
  }
  return stats;
}

describeWithFixtures('flowtrail import / stats (CLI)', () => {
  it('imports every fixture once and reports counts that match the files', async () => {
    const files = hubbleFixtureFiles();
    const first = JSON.parse((await cli('import', '--json', ...files)).stdout);
    expect(first).toEqual({ read: 1918, imported: 1851, duplicates: 67, rejected: 0, errors: [] });
    const again = JSON.parse((await cli('import', '--json', ...files)).stdout);
    expect(again).toEqual({ read: 1918, imported: 0, duplicates: 1918, rejected: 0, errors: [] });
    const stats = JSON.parse((await cli('stats', '--json')).stdout);
    expect(stats).toEqual(expectedStats());
  });

  it('prints stored flows as Hubble JSON lines with attribution, filtered like the API', async () => {
    const expected = new Set(
      hubbleFixtureFiles()
        .flatMap((f) => readFileSync(f, 'utf8').split('\n').filter(Boolean))
        .filter((l) => {
          const ip = JSON.parse(l).flow.IP ?? {};
          return ip.source === '10.244.1.60' || ip.destination === '10.244.1.60';
        }),
    );
    const out = await cli(
      'flows',
      '--ip',
      '10.244.1.60',
      '--since',
      '2023-08-01T00:00:00Z',
      '--until',
      '2023-08-30T00:00:00Z',
      '--json',
    );
    const lines = out.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(expected.size);
    for (const line of lines) {
      expect(line).toHaveProperty('attribution');
      const { attribution: _a, ...hubble } = line;
      expect([...expected].map((l) => JSON.parse(l))).toContainEqual(hubble);
    }
    const bad = await cli('flows', '--ip', 'not-an-ip').catch((e: { code: number; stderr: string }) => e);
    expect((bad as { code: number }).code).toBe(2);
    expect((bad as { stderr: string }).stderr).toMatch(/ip: expected an IPv4\/IPv6 address or CIDR/);
  });

  it('flows --json re-attributes flows imported before their owner was known', async () => {
    // 172.16.248.190 is held by tenant acme's allocation from 2021-11-04T09:14:09.901Z (capture).
    const line = (time: string, src: string, port: number) =>
      JSON.stringify({
        flow: {
          time,
          verdict: 'FORWARDED',
          IP: { source: src, destination: '1.1.1.1', ipVersion: 'IPv4' },
          l4: { UDP: { source_port: 5353, destination_port: port } },
          Type: 'L3_L4',
        },
        node_name: 'n1',
        time,
      });
    const file = path.join(dataDir, 'late.json');
    writeFileSync(
      file,
      `${[
        line('2021-11-04T09:30:00Z', '172.16.248.190', 7001),
        line('2021-11-04T09:00:00Z', '172.16.248.190', 7002),
        line('2021-11-04T09:30:00Z', '172.16.99.99', 7003),
      ].join('\n')}\n`,
    );
    await cli('import', '--json', file);
    await cli('import-nomad-events', nomadFixture('event-stream-allocation.composite.ndjson'));
    const out = await cli(
      'flows',
      '--to-ip',
      '1.1.1.1',
      '--since',
      '2021-11-04T00:00:00Z',
      '--until',
      '2021-11-05T00:00:00Z',
      '--json',
    );
    const byPort = new Map(
      out.stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l))
        .map((l) => [l.flow.l4.UDP.destination_port, l.attribution]),
    );
    expect(byPort.get(7001)).toEqual({
      source: expect.objectContaining({
        tenant: 'acme',
        account: 'acct-0042',
        alloc_id: 'a8198d79-cfdb-6593-a999-1e9adabcba2e',
        start: '2021-11-04T09:14:09.901000000Z',
        end: expect.any(String),
        source: 'ownership',
      }),
      destination: null,
    });
    expect(byPort.get(7002)).toEqual({ source: null, destination: null }); // before the interval
    expect(byPort.get(7003)).toEqual({ source: null, destination: null }); // nobody's address
    const acme = await cli(
      'flows',
      '--tenant',
      'acme',
      '--since',
      '2021-11-04T00:00:00Z',
      '--until',
      '2021-11-05T00:00:00Z',
      '--json',
    );
    const ports = acme.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l).flow.l4.UDP.destination_port);
    expect(ports).toEqual([7001]);
  });

  it('exits non-zero and names file and line for malformed input, importing the rest', async () => {
    const bad = path.join(dataDir, 'bad.json');
    const good = readFileSync(hubbleFixtureFiles()[0]!, 'utf8').split('\n')[0];
    writeFileSync(bad, `not json\n${good}\n`);
    const err = await cli('import', '--json', bad).catch((e: { code: number; stdout: string }) => e);
    expect((err as { code: number }).code).toBe(1);
    const report = JSON.parse((err as { stdout: string }).stdout);
    expect(report.read).toBe(2);
    expect(report.rejected).toBe(1);
    expect(report.imported + report.duplicates).toBe(1);
    expect(report.errors).toEqual([{ file: bad, line: 1, reason: expect.stringMatching(/invalid JSON/) }]);
  });
});

/**
 * CLI hardening (issue 17 item 8): `flowtrail import DIR` imports the directory's files, an
 * oversized line is rejected with file:line while the rest is imported, and every subcommand
 * answers `--help` with its usage.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../common/testing/fixtures.ts';

const exec = promisify(execFile);
const dataDir = mkdtempSync(path.join(tmpdir(), 'flowtrail-cli-hardening-'));
const cli = (...args: string[]) =>
  exec('node', [path.join(repoRoot, 'bin/flowtrail.js'), ...args], {
    env: { ...process.env, FLOWTRAIL_DATA_DIR: dataDir, CLICKHOUSE_URL: '', KAFKA_BROKERS: '' },
    cwd: repoRoot,
    maxBuffer: 16 * 1024 * 1024,
  }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({
      code: e.code,
      stdout: e.stdout,
      stderr: e.stderr,
    }),
  );

const flowLine = (i: number, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    flow: {
      time: `2026-01-01T00:00:0${i}.000000001Z`,
      uuid: `0b1e7c9e-1111-4222-8333-94445555000${i}`,
      verdict: 'FORWARDED',
      IP: { source: '10.0.0.1', destination: '10.0.0.2', ipVersion: 'IPv4' },
      l4: { TCP: { source_port: 40000 + i, destination_port: 443 } },
      ...extra,
    },
    node_name: 'n1',
    time: `2026-01-01T00:00:0${i}.000000001Z`,
  });

describe('flowtrail CLI hardening', () => {
  it('import DIR imports its files; an over-long line is rejected with file:line, the rest imported', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'flowtrail-import-dir-'));
    const huge = flowLine(3, { summary: 'x'.repeat(2 * 1024 * 1024) });
    writeFileSync(path.join(dir, 'events.log'), `${flowLine(1)}\n${huge}\n${flowLine(2)}\n`);
    writeFileSync(path.join(dir, 'events-2026.log'), `${flowLine(4)}\n`);
    mkdirSync(path.join(dir, 'nested'));
    const r = await cli('import', '--json', dir);
    const report = JSON.parse(r.stdout) as {
      read: number;
      imported: number;
      rejected: number;
      errors: unknown[];
    };
    expect(report).toMatchObject({ read: 4, imported: 3, rejected: 1 });
    expect(report.errors).toEqual([
      {
        file: path.join(dir, 'events.log'),
        line: 2,
        reason: `line of ${huge.length} bytes is longer than the 1048576 allowed`,
      },
    ]);
    expect(r.code).toBe(1);
    const empty = mkdtempSync(path.join(tmpdir(), 'flowtrail-import-empty-'));
    const e = await cli('import', empty);
    expect(e.code).toBe(2);
    expect(e.stderr).toMatch(/is a directory with no files to import/);
    expect(e.stderr).not.toMatch(/EISDIR/);
  }, 120_000);

  it.each([
    'flows',
    'import',
    'stats',
    'who',
    'simulate',
    'migrate',
    'api',
    'writer',
    'alerts',
    'import-nomad-events',
    'nomad-standin',
    'bench',
    'evidence',
    'start',
    'collector',
  ])('flowtrail %s --help prints its usage', async (command) => {
    const r = await cli(command, '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^usage: flowtrail ${command}`));
    expect(r.stderr).not.toMatch(/Unknown option/);
  });
});

/**
 * `flowtrail report import` as an abuse desk would run it (real CLI process, real chdb in a
 * fresh data directory): an X-ARF YAML file opens a prefilled case; an ARF email read from
 * stdin too; a malformed report exits 2 with a message naming the field.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createChdbStore } from '../../common/clickhouse/chdb-store.ts';
import { repoRoot } from '../../common/testing/fixtures.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'flowtrail-report-'));
const cli = (args: string[], stdin?: string) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    const child = execFile(
      'node',
      [path.join(repoRoot, 'bin/flowtrail.js'), ...args],
      {
        // A retention other than the default: the command must keep it (migrate converges the TTL).
        env: {
          ...process.env,
          FLOWTRAIL_DATA_DIR: path.join(dir, 'data'),
          CLICKHOUSE_URL: '',
          FLOWTRAIL_TTL_DAYS: '45',
        },
        cwd: repoRoot,
      },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin?.end(stdin ?? '');
  });

// X-ARF v0.2 (https://github.com/abusix/xarf), schema login-attack.
const xarf = `Reported-From: abuse@victim.example
Category: abuse
Report-Type: login-attack
Version: '0.2'
Date: 'Tue, 01 Dec 2026 10:00:00 +0000'
Source: 192.0.2.17
Source-Type: ipv4
Destination: 203.0.113.9
Port: 22
`;

// ARF (RFC 5965 §3): multipart/report with a message/feedback-report part.
const arf = [
  'MIME-Version: 1.0',
  'Content-Type: multipart/report; report-type=feedback-report; boundary="b1"',
  '',
  '--b1',
  'Content-Type: text/plain',
  '',
  'Spam report.',
  '--b1',
  'Content-Type: message/feedback-report',
  '',
  'Feedback-Type: abuse',
  'Version: 1',
  'Arrival-Date: Tue, 01 Dec 2026 11:00:00 +0000',
  'Source-IP: 192.0.2.33',
  '',
  '--b1--',
  '',
].join('\r\n');

describe('bin > flowtrail report import', () => {
  it('opens a prefilled case from an X-ARF file and from an ARF email on stdin', async () => {
    const file = path.join(dir, 'report.yaml');
    writeFileSync(file, xarf);
    const a = await cli(['report', 'import', file, '--json']);
    expect(a.stderr).toBe('');
    expect(a.code).toBe(0);
    const c = JSON.parse(a.stdout);
    expect(c.request).toMatchObject({
      indicator: '192.0.2.17',
      remote: '203.0.113.9',
      port: 22,
      at: '2026-12-01T10:00:00.000Z',
      tolerance: 300,
    });
    expect(c.report).toMatchObject({ format: 'x-arf', category: 'abuse/login-attack' });
    expect(c.id).toMatch(/^[0-9a-f-]{36}$/);

    const b = await cli(['report', 'import', '-'], arf);
    expect(b.code).toBe(0);
    expect(b.stdout).toContain('opened from an ARF report (abuse)');
    expect(b.stdout).toContain('ours 192.0.2.33  port 25/tcp  at 2026-12-01T11:00:00.000Z ± 300s');

    // The store the command created keeps the configured retention, not the 30-day default.
    const store = await createChdbStore(path.join(dir, 'data'), 'flowtrail');
    try {
      const [t] = await store.query<{ q: string }>(
        "SELECT create_table_query AS q FROM system.tables WHERE database = currentDatabase() AND name = 'flows'",
      );
      expect(t?.q.match(/toIntervalDay\(\d+\)/)?.[0]).toBe('toIntervalDay(45)');
    } finally {
      await store.close();
    }
  }, 120_000);

  it('a malformed report exits 2 naming the field; --help documents the command', async () => {
    const bad = path.join(dir, 'bad.yaml');
    writeFileSync(bad, xarf.replace('Port: 22', 'Port: ssh'));
    const r = await cli(['report', 'import', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Port: not a port (0-65535): "ssh"');
    const h = await cli(['report', '--help']);
    expect(h.code).toBe(0);
    expect(h.stdout).toContain('usage: flowtrail report import FILE|- [--json]');
  }, 60_000);
});

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep } from '../common/retry.ts';
import { repoRoot } from '../common/testing/fixtures.ts';

// `flowtrail api` as the compose query-api service runs it: a real process, configured only by the
// documented environment, against a chdb data directory. It must listen where FLOWTRAIL_HTTP_PORT
// says, serve the UI at `/` and run the alert engine (its evaluations show in /metrics).

const dir = mkdtempSync(path.join(tmpdir(), 'flowtrail-api-cmd-'));
let child: ChildProcess | undefined;
let port = 0;
let stderr = '';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, deadlineMs = 120_000): Promise<T> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    if (child?.exitCode !== null && child?.exitCode !== undefined)
      throw new Error(`flowtrail api exited (${child.exitCode}) before ${what}:\n${stderr}`);
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}:\n${stderr.slice(-4000)}`);
    await sleep(250);
  }
}

beforeAll(async () => {
  port = await freePort();
  const grpcPort = await freePort();
  const config = path.join(dir, 'flowtrail.yaml');
  writeFileSync(config, 'alerts:\n  intervalSeconds: 1\n  lagSeconds: 0\napi:\n  ops:\n    open: true\n');
  child = spawn('node', [path.join(repoRoot, 'bin/flowtrail.js'), 'api'], {
    cwd: repoRoot,
    env: {
      PATH: process.env['PATH'],
      HOME: process.env['HOME'],
      FLOWTRAIL_DATA_DIR: path.join(dir, 'data'),
      FLOWTRAIL_HTTP_PORT: String(port),
      FLOWTRAIL_GRPC_PORT: String(grpcPort),
      FLOWTRAIL_CONFIG: config,
      FLOWTRAIL_LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  await until('/healthz', async () => {
    const r = await fetch(`http://127.0.0.1:${port}/healthz`);
    return r.ok ? true : undefined;
  });
}, 180_000);

afterAll(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child!.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('flowtrail api (the compose query-api service)', () => {
  it('listens on FLOWTRAIL_HTTP_PORT and serves the UI at /', async () => {
    const r = await fetch(`http://127.0.0.1:${port}/`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/text\/html/);
    expect(await r.text()).toMatch(/<script[^>]+src="\.\/assets\//);
    // A client-side route of the UI loads the same page.
    const deep = await fetch(`http://127.0.0.1:${port}/investigations`);
    expect(deep.status).toBe(200);
    expect(deep.headers.get('content-type')).toMatch(/text\/html/);
  });

  it('runs the alert engine: /metrics reports its evaluations', async () => {
    const line = await until('an alert evaluation in /metrics', async () => {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      return /^flowtrail_alerts_ticks_total\{outcome="ok"\} [1-9]/m.exec(text)?.[0];
    });
    expect(line).toBeDefined();
  });

  it('reports lost events in /api/v1/status', async () => {
    const r = await fetch(`http://127.0.0.1:${port}/api/v1/status`);
    expect(r.status).toBe(200);
    const body = (await r.json()) as { lostEvents: { total: number } };
    expect(body.lostEvents.total).toBe(0);
  });

  it('refuses a retired environment name with a clear message (--check)', async () => {
    const out = await new Promise<{ code: number | null; text: string }>((resolve) => {
      const p = spawn('node', [path.join(repoRoot, 'bin/flowtrail.js'), 'api', '--check'], {
        cwd: repoRoot,
        env: { PATH: process.env['PATH'], FLOWTRAIL_API_PORT: '9999' },
      });
      let text = '';
      p.stderr.on('data', (d: Buffer) => {
        text += d.toString();
      });
      p.on('exit', (code) => resolve({ code, text }));
    });
    expect(out.code).toBe(2);
    expect(out.text).toContain('FLOWTRAIL_API_PORT (renamed: use FLOWTRAIL_HTTP_PORT)');
  });
});

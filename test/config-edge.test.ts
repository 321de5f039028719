import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { envSchema, loadServiceConfig, parseEnv } from '../common/config/env.ts';
import { ConfigError } from '../common/errors.ts';
import { repoRoot } from '../common/testing/fixtures.ts';

// Issue 11.6: configuration is read at one edge. The environment is parsed once (common/config/env.ts)
// by main/bin; production code below them never reads process.env.

const productionDirs = ['collector', 'common', 'query-api', 'ui', 'kafka', 'proto'];
/** Where reading the environment is the job. */
const edge = [/^bin\//, /^common\/config\//];

function files(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(path.join(repoRoot, dir))) {
    const rel = path.join(dir, name);
    if (['node_modules', 'dist', 'gen'].includes(name)) continue;
    if (statSync(path.join(repoRoot, rel)).isDirectory()) out.push(...files(rel));
    else if (/\.ts$/.test(name) && !/\.test\.ts$/.test(name) && !/testing/.test(rel)) out.push(rel);
  }
  return out;
}

describe('config at one edge', () => {
  it('no production code below main/bin reads process.env', () => {
    const offenders = productionDirs
      .flatMap(files)
      .filter((f) => !edge.some((e) => e.test(f)))
      .filter((f) => /process\.env\b/.test(readFileSync(path.join(repoRoot, f), 'utf8')));
    expect(offenders).toEqual([]);
  });

  it('documents every environment variable in the README', () => {
    const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
    const missing = Object.keys(envSchema.shape).filter((k) => !readme.includes(`\`${k}\``));
    expect(missing).toEqual([]);
  });

  it('parses ports and levels, treats empty as unset, and refuses unknown FLOWTRAIL_ names', () => {
    const env = parseEnv({ FLOWTRAIL_HTTP_PORT: '9090', FLOWTRAIL_CONFIG: '', PATH: '/bin' });
    expect(env.FLOWTRAIL_HTTP_PORT).toBe(9090);
    expect(env.FLOWTRAIL_HTTP_HOST).toBe('127.0.0.1');
    expect(env.FLOWTRAIL_CONFIG).toBeUndefined();
    expect(() => parseEnv({ FLOWTRAIL_HTTP_PORT: '70000' })).toThrow(ConfigError);
    expect(() => parseEnv({ FLOWTRAIL_LOG_LEVEL: 'loud' })).toThrow(/FLOWTRAIL_LOG_LEVEL/);
    expect(() => parseEnv({ FLOWTRAIL_API_PORT: '8080' })).toThrow(/use FLOWTRAIL_HTTP_PORT/);
    expect(() => parseEnv({ FLOWTRAIL_HTTP_PROT: '8080' })).toThrow(/unknown environment variable/);
  });

  it('lets the webhook secretEnv names the config file declares through', () => {
    const raw = { FLOWTRAIL_AUTH_MODE: 'open' };
    expect(loadServiceConfig(raw).config.auth.mode).toBe('open');
    expect(() => parseEnv({ FLOWTRAIL_SOC_SECRET: 'x' })).toThrow(ConfigError);
    expect(() => parseEnv({ FLOWTRAIL_SOC_SECRET: 'x' }, ['FLOWTRAIL_SOC_SECRET'])).not.toThrow();
  });
});

const run = (args: string[], env: Record<string, string | undefined>) =>
  promisify(execFile)('node', [path.join(repoRoot, 'bin/flowtrail.js'), ...args], {
    cwd: repoRoot,
    env: { PATH: process.env['PATH'] ?? '', ...env },
  }).then(
    (r) => ({ code: 0, out: r.stdout, err: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout, err: e.stderr }),
  );

describe('--check on every long-running command', () => {
  it.each([
    { args: ['start', '--check'], env: {} },
    { args: ['api', '--check'], env: {} },
    { args: ['collector', '--check'], env: { HUBBLE_SERVER: '127.0.0.1:4245', KAFKA_BROKERS: 'kafka:9092' } },
    { args: ['writer', '--check'], env: { KAFKA_BROKERS: 'kafka:9092' } },
    { args: ['simulate', '--check', '--listen', '127.0.0.1:0'], env: {} },
    { args: ['nomad-standin', '--check'], env: {} },
  ])(
    'flowtrail $args.0 --check validates and exits',
    async ({ args, env }) => {
      const r = await run(args, env);
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/^config ok/);
    },
    60_000,
  );

  it.each([['start'], ['api'], ['collector'], ['writer']])(
    'flowtrail %s --check refuses a bad environment with exit 2',
    async (command) => {
      const r = await run([command, '--check'], {
        FLOWTRAIL_HTTP_PORT: 'eighty',
        HUBBLE_SERVER: '127.0.0.1:4245',
        KAFKA_BROKERS: 'kafka:9092',
      });
      expect(r.code).toBe(2);
      expect(r.err).toContain('FLOWTRAIL_HTTP_PORT');
    },
    60_000,
  );
});

import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { fixtureGate, isCi, repoRoot } from './fixtures.ts';

const execFileAsync = promisify(execFile);

describe('common > testing > fixtures', () => {
  const absent = path.join(mkdtempSync(path.join(tmpdir(), 'no-fixtures-')), 'fixtures');

  it('skips fixture tests where the folder is absent, and fails them under CI', () => {
    expect(fixtureGate(absent, {})).toMatchObject({ mode: 'skip' });
    expect(fixtureGate(absent, { CI: 'false' })).toMatchObject({ mode: 'skip' });
    const ci = fixtureGate(absent, { CI: 'true' });
    expect(ci.mode).toBe('fail');
    expect(ci.message).toContain(absent);
    const present = mkdtempSync(path.join(tmpdir(), 'fixtures-'));
    mkdirSync(path.join(present, 'hubble'));
    expect(fixtureGate(present, { CI: 'true' })).toMatchObject({ mode: 'run' });
  });

  it('reads CI the way CI services set it', () => {
    expect(isCi({ CI: 'true' })).toBe(true);
    expect(isCi({ CI: '1' })).toBe(true);
    expect(isCi({ CI: 'false' })).toBe(false);
    expect(isCi({ CI: '' })).toBe(false);
    expect(isCi({})).toBe(false);
  });

  it('makes a CI run fail, not pass green, when the fixtures folder is missing', async () => {
    // A real vitest run of a fixture-reading file, pointed at a folder that does not exist.
    const run = execFileAsync(
      process.execPath,
      [
        path.join(repoRoot, 'node_modules/vitest/vitest.mjs'),
        'run',
        'proto/src/hubble-json.fixtures.test.ts',
      ],
      { cwd: repoRoot, env: { ...process.env, CI: 'true', FLOWTRAIL_FIXTURES_DIR: absent } },
    );
    const failed = await run.then(
      () => undefined,
      (error: { code?: number; stdout?: string; stderr?: string }) => error,
    );
    expect(failed?.code).toBe(1);
    expect(`${failed?.stdout}${failed?.stderr}`).toContain('CI=true: a CI run must have them');
  });
});

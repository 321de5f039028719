/**
 * Where the shared, read-only fixtures live (../shared/fixtures beside the repo) and what tests do when
 * they are absent: skip with a clear message on a developer's machine, fail under CI (`CI=true`), where a
 * missing folder means the run is not testing what it claims. Fixtures are read in place, never copied.
 * @module
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'vitest';

/** The repository root. */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * The shared fixtures folder (may be absent on some machines). FLOWTRAIL_FIXTURES_DIR overrides it, so
 * the absent-fixtures behaviour itself can be tested.
 */
export const fixturesDir = path.resolve(
  process.env['FLOWTRAIL_FIXTURES_DIR'] || path.resolve(repoRoot, '../shared/fixtures'),
);

/** True when the shared fixtures are present. */
export const haveFixtures = existsSync(path.join(fixturesDir, 'hubble'));

/** What fixture-reading tests do: run, skip (absent on a developer's machine) or fail (absent under CI). */
export interface FixtureGate {
  mode: 'run' | 'skip' | 'fail';
  message: string;
}

/** True when the environment says this is a CI run (CI=true, as CI services and .ci/run set it). */
export function isCi(env: NodeJS.ProcessEnv = process.env): boolean {
  const ci = (env['CI'] ?? '').toLowerCase();
  return ci !== '' && ci !== 'false' && ci !== '0';
}

/** Decides what fixture-reading tests do for a fixtures folder `dir` in environment `env`. */
export function fixtureGate(dir: string = fixturesDir, env: NodeJS.ProcessEnv = process.env): FixtureGate {
  if (existsSync(path.join(dir, 'hubble'))) return { mode: 'run', message: '' };
  if (isCi(env)) {
    return {
      mode: 'fail',
      message: `shared fixtures not found at ${dir}, and CI=true: a CI run must have them (shared/fixtures beside the repo)`,
    };
  }
  return {
    mode: 'skip',
    message: `shared fixtures not found at ${dir}: skipping tests that read real recorded data`,
  };
}

/** Every Hubble JSON-lines fixture file, sorted, as absolute paths. */
export function hubbleFixtureFiles(): string[] {
  const root = path.join(fixturesDir, 'hubble');
  if (!existsSync(root)) return [];
  const out: string[] = [];
  for (const dir of readdirSync(root, { withFileTypes: true })) {
    if (!dir.isDirectory()) continue;
    for (const f of readdirSync(path.join(root, dir.name))) {
      if (/\.jsonl?$/.test(f)) out.push(path.join(root, dir.name, f));
    }
  }
  return out.sort();
}

/** The Nomad fixture file with this name (in ../shared/fixtures/nomad). */
export function nomadFixture(name: string): string {
  return path.join(fixturesDir, 'nomad', name);
}

/**
 * A describe block that runs only when the shared fixtures exist; otherwise it is skipped with the reason,
 * or, under CI, replaced by one failing test that says what is missing.
 */
export function describeWithFixtures(name: string, fn: () => void): void {
  const gate = fixtureGate();
  if (gate.mode === 'run') {
    describe(name, fn);
    return;
  }
  // The body is not run: it may read the fixtures while collecting its cases.
  if (gate.mode === 'fail') {
    describe(name, () => {
      it('has the shared fixtures', () => {
        throw new Error(gate.message);
      });
    });
    return;
  }
  describe.skip(name, () => {
    it.skip(gate.message, () => {});
  });
  console.warn(gate.message);
}

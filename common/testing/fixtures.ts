/**
 * Where the shared, read-only fixtures live (../shared/fixtures beside the repo) and how tests
 * skip with a clear message when they are absent. Fixtures are read in place, never copied.
 * @module
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'vitest';

/** The repository root. */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The shared fixtures folder (may be absent on some machines). */
export const fixturesDir = path.resolve(repoRoot, '../shared/fixtures');

/** True when the shared fixtures are present. */
export const haveFixtures = existsSync(path.join(fixturesDir, 'hubble'));

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

const skipMessage = `shared fixtures not found at ${fixturesDir}: skipping tests that read real recorded data`;

/** A describe block that runs only when the shared fixtures exist, and says why when skipped. */
export function describeWithFixtures(name: string, fn: () => void): void {
  if (haveFixtures) {
    describe(name, fn);
  } else {
    // The body is not run: it may read the fixtures while collecting its cases.
    describe.skip(name, () => {
      it.skip(skipMessage, () => {});
    });
    console.warn(skipMessage);
  }
}

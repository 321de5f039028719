/**
 * proto/gen/ is exactly what `npm run proto:gen` produces from proto/**\/*.proto today: the generator runs
 * into a temporary folder and every file is compared byte for byte with the committed one.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../common/testing/fixtures.js';

function listFiles(dir: string): string[] {
  return (readdirSync(dir, { recursive: true, withFileTypes: true }) as import('node:fs').Dirent[])
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)))
    .sort();
}

describe('proto > gen', () => {
  const scratch = mkdtempSync(path.join(tmpdir(), 'flowtrail-proto-gen-test-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('is up to date with proto/ (otherwise: run npm run proto:gen)', () => {
    const fresh = path.join(scratch, 'gen');
    execFileSync(process.execPath, [path.join(repoRoot, 'scripts', 'proto-gen.js'), '--out', fresh], {
      cwd: repoRoot,
      stdio: 'pipe',
    });
    const committed = path.join(repoRoot, 'proto', 'gen');
    const hint = 'proto/gen is stale: run npm run proto:gen';
    expect(listFiles(committed), hint).toEqual(listFiles(fresh));
    const stale = listFiles(fresh).filter(
      (file) => !readFileSync(path.join(fresh, file)).equals(readFileSync(path.join(committed, file))),
    );
    expect(stale, hint).toEqual([]);
  });
});

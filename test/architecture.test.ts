/**
 * The folder layout is the architecture (DESIGN.md): this test fails when an import crosses an arrow
 * that must never exist. Components (collector, query-api) never import each other; the shared core
 * (common/, proto/) imports no component; the UI talks HTTP only; production code never imports
 * test/. Test files (`*.test.ts`, `testing.ts`, `testing/`) may reach anywhere. No exceptions.
 * @module
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../common/testing/fixtures.ts';

type Top = 'collector' | 'query-api' | 'common' | 'ui' | 'proto' | 'bin' | 'test' | 'kafka' | 'scripts';

/** For each top folder, the top folders its production code must never import. */
const never: Record<Top, readonly Top[]> = {
  collector: ['query-api', 'bin', 'test'],
  'query-api': ['collector', 'bin', 'test'],
  common: ['collector', 'query-api', 'bin', 'ui', 'test', 'kafka'],
  proto: ['common', 'collector', 'query-api', 'bin', 'ui', 'test', 'kafka'],
  ui: ['collector', 'query-api', 'bin', 'test', 'kafka'],
  kafka: ['collector', 'query-api', 'bin', 'ui', 'test'],
  bin: ['test'],
  scripts: ['test'],
  test: [],
};

const importRe =
  /(?:^|\s)(?:import|export)\s[^'";]*?from\s+['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)|^\s*import\s+['"](\.[^'"]+)['"]/gm;

function isTestFile(rel: string): boolean {
  return rel.endsWith('.test.ts') || path.basename(rel) === 'testing.ts' || rel.includes('/testing/');
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(path.join(repoRoot, dir), { withFileTypes: true })) {
    const rel = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (!['node_modules', 'dist', 'gen'].includes(e.name)) out.push(...sourceFiles(rel));
    } else if (/\.(ts|js|mjs)$/.test(e.name)) out.push(rel);
  }
  return out;
}

/** Every forbidden import as `file -> specifier`. */
function forbiddenImports(): string[] {
  const bad: string[] = [];
  for (const top of Object.keys(never) as Top[]) {
    if (top === 'test') continue;
    for (const rel of sourceFiles(top)) {
      if (isTestFile(rel)) continue;
      const src = readFileSync(path.join(repoRoot, rel), 'utf8');
      for (const m of src.matchAll(importRe)) {
        const spec = m[1] ?? m[2] ?? m[3] ?? '';
        const target = path.normalize(path.join(path.dirname(rel), spec)).split(path.sep)[0] as Top;
        if (never[top].includes(target)) bad.push(`${rel} -> ${spec}`);
      }
    }
  }
  return bad;
}

describe('architecture', () => {
  it('has no import against the arrows of DESIGN.md', () => {
    expect(forbiddenImports()).toEqual([]);
  });

  it('would catch a forbidden import (the scanner sees relative imports)', () => {
    const sample = "import { x } from '../../collector/src/a.ts';\nexport * from './b.ts';";
    const specs = [...sample.matchAll(importRe)].map((m) => m[1] ?? m[2] ?? m[3]);
    expect(specs).toEqual(['../../collector/src/a.ts', './b.ts']);
  });
});

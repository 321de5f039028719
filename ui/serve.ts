/**
 * Where the built UI lives and how to make sure it exists: `flowtrail start` and the browser
 * tests call ensureUiBuilt() and then serve uiStaticDir() at `/`. The build uses Vite's JS API
 * (no shelling out) and runs only when `ui/dist/index.html` is missing or older than any file in
 * `ui/src` or `ui/index.html`. A lock file keeps concurrent processes (test workers, a running
 * `flowtrail start`) from building over each other.
 * @module
 */
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const uiRoot = path.dirname(fileURLToPath(import.meta.url));

/** The folder holding the built UI (serve it statically at `/`). */
export function uiStaticDir(): string {
  return path.join(uiRoot, 'dist');
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** True when the built UI is missing or older than its sources. */
export function uiBuildIsStale(): boolean {
  const index = path.join(uiStaticDir(), 'index.html');
  if (!existsSync(index)) return true;
  const srcDir = path.join(uiRoot, 'src');
  if (!existsSync(srcDir)) return false; // Installed without sources: serve what was shipped.
  const sources = Math.max(newestMtime(srcDir), statSync(path.join(uiRoot, 'index.html')).mtimeMs);
  return statSync(index).mtimeMs < sources;
}

/** Builds the UI into uiStaticDir() with Vite (relative asset paths, so any mount point works). */
export async function buildUi(): Promise<void> {
  const { build } = await import('vite');
  await build({
    root: uiRoot,
    base: './',
    configFile: false,
    logLevel: 'warn',
    build: { outDir: uiStaticDir(), emptyOutDir: true, sourcemap: true, target: 'es2022' },
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let inFlight: Promise<void> | undefined;

async function withLock(fn: () => Promise<void>): Promise<void> {
  const lock = path.join(uiRoot, '.build.lock');
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // Another process builds; a lock older than two minutes is left over from a crash.
      try {
        if (Date.now() - statSync(lock).mtimeMs > 120_000) rmSync(lock, { recursive: true, force: true });
      } catch {}
      if (Date.now() > deadline) throw new Error(`ui build: lock ${lock} held for too long`);
      await sleep(250);
    }
  }
  try {
    writeFileSync(path.join(lock, 'pid'), String(process.pid));
    await fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** Builds the UI when it is missing or stale; concurrent callers share one build. */
export function ensureUiBuilt(): Promise<void> {
  inFlight ??= (async () => {
    if (!uiBuildIsStale()) return;
    await withLock(async () => {
      if (uiBuildIsStale()) await buildUi();
    });
  })().finally(() => {
    inFlight = undefined;
  });
  return inFlight;
}

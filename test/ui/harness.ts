/**
 * What every browser test file shares: one Chromium launch, the backend, signing in, navigating
 * to a page and waiting until it is ready, calling the API as the UI does, and screenshots of a
 * page at the review sizes in light and dark mode (into test-output/ui/, gitignored).
 * @module
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../../common/testing/chromium.ts';
import { repoRoot } from '../../common/testing/fixtures.ts';
import { startUiBackend, testTokens, type UiBackend } from './backend.ts';

const shots = path.join(repoRoot, 'test-output', 'ui');
/** The review sizes: a laptop and the narrowest supported width. */
const sizes = [
  { width: 1440, height: 900 },
  { width: 1024, height: 900 },
] as const;

/** A running backend and browser. */
export interface Harness {
  backend: UiBackend;
  browser: Browser;
  /** Calls the API the way the UI does (admin token), to compute what the pages must show. */
  api<T>(p: string, init?: RequestInit): Promise<T>;
  /** A new page signed in with `token`, on the overview. */
  openPage(width: number, token?: string): Promise<Page>;
  close(): Promise<void>;
}

/** Navigates by hash and waits until the named page says it is ready. */
export async function goto(page: Page, hash: string, name: string): Promise<void> {
  await page.evaluate((h) => {
    location.hash = h;
  }, hash);
  await page.waitForSelector(`main[data-page="${name}"][data-ready="true"]`);
}

/** Screenshots of the page at every review size, light and dark. */
export async function shot(page: Page, name: string): Promise<void> {
  const before = page.viewportSize();
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    for (const size of sizes) {
      await page.setViewportSize(size);
      await page.screenshot({
        path: path.join(shots, `${name}-${size.width}-${scheme}.png`),
        fullPage: true,
      });
    }
  }
  await page.emulateMedia({ colorScheme: 'light' });
  if (before) await page.setViewportSize(before);
}

/** RFC 3339 of milliseconds. */
export const iso = (ms: number) => new Date(ms).toISOString();

/** Starts the backend and Chromium. */
export async function startHarness(): Promise<Harness> {
  mkdirSync(shots, { recursive: true });
  const backend = await startUiBackend();
  const browser = await launchChromium();
  return {
    backend,
    browser,
    async api<T>(p: string, init: RequestInit = {}): Promise<T> {
      const res = await fetch(`${backend.url}${p}`, {
        ...init,
        headers: {
          Authorization: `Bearer ${testTokens.admin}`,
          'Content-Type': 'application/json',
          ...init.headers,
        },
      });
      if (!res.ok) throw new Error(`${p}: ${res.status} ${await res.text()}`);
      return (await res.json()) as T;
    },
    async openPage(width: number, token: string = testTokens.admin): Promise<Page> {
      const page = await browser.newPage({ viewport: { width, height: 900 } });
      page.on('pageerror', (err) => {
        throw err;
      });
      await page.goto(`${backend.url}/#/signin`);
      await page.getByLabel('API token').fill(token);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForSelector('main[data-page="overview"][data-ready="true"]');
      return page;
    },
    async close() {
      await browser?.close();
      await backend?.close();
    },
  };
}

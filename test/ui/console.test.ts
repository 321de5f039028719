/**
 * The console's honesty bugs (issue 15), each checked the way a user meets it in real Chromium:
 * charts that span the chosen range and draw outages as zero, the time picker, refreshes that
 * keep data and say when the API is gone, exports of the whole result, layout at 1024 px.
 * @module
 */
import type { Page, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { goto, type Harness, iso, shot, startHarness } from './harness.ts';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
}, 300_000);

afterAll(async () => {
  await h?.close();
});

describe('console bugs', () => {
  it('the rate chart spans the chosen range and draws steps without data as zero', async () => {
    const { demoSinceMs } = h.backend;
    // 40 minutes before the demo traffic starts: no flows there, as during an outage.
    const since = iso(demoSinceMs - 40 * 60_000);
    const until = iso(Date.now() + 60_000);
    const page = await h.openPage(1440);
    await goto(page, `#/overview?range=custom&since=${since}&until=${until}`, 'overview');
    const svg = page.locator('svg.stacked-area');
    await svg.waitFor();
    expect(await svg.getAttribute('data-since')).toBe(since);
    expect(await svg.getAttribute('data-until')).toBe(until);
    const series = await page.evaluate(() =>
      [...document.querySelectorAll('svg.stacked-area path.area')].map((el) => {
        const layer = (el as unknown as { __data__: [number, number, { data: { t: number } }][] }).__data__;
        return [...layer].map((p) => ({
          t: (p as unknown as { data: { t: number } }).data.t,
          lo: p[0],
          hi: p[1],
        }));
      }),
    );
    expect(series.length).toBeGreaterThan(1);
    for (const points of series) {
      const gap = points.filter((p) => p.t < demoSinceMs - 2 * 60_000);
      // Every step of the empty span is there, at zero.
      expect(gap.length).toBeGreaterThan(10);
      for (const p of gap) expect(p.hi - p.lo).toBe(0);
    }
    await page.close();
  });

  it('time picker: From/To only show for a custom range, and Apply uses them', async () => {
    const page = await h.openPage(1440);
    await goto(page, '#/overview?range=1h', 'overview');
    const from = page.getByLabel('From (UTC)');
    expect(await from.isVisible()).toBe(false);
    expect(await page.getByRole('button', { name: 'Apply' }).isVisible()).toBe(false);
    await page.locator('select[name="range"]').selectOption('custom');
    expect(await from.isVisible()).toBe(true);
    const since = new Date(h.backend.demoSinceMs + 10 * 60_000);
    const until = new Date(h.backend.demoSinceMs + 20 * 60_000);
    await from.fill(since.toISOString().slice(0, 19));
    await page.getByLabel('To (UTC)').fill(until.toISOString().slice(0, 19));
    await page.getByRole('button', { name: 'Apply' }).click();
    await expect.poll(() => page.evaluate(() => location.hash)).toContain('range=custom');
    await page.waitForSelector('main[data-page="overview"][data-ready="true"] svg.stacked-area');
    const want = (d: Date) => `${d.toISOString().slice(0, 19)}.000Z`;
    expect(await page.locator('svg.stacked-area').getAttribute('data-since')).toBe(want(since));
    expect(await page.locator('svg.stacked-area').getAttribute('data-until')).toBe(want(until));
    await page.close();
  });

  it('the tenant page names the range it queries', async () => {
    const { owner } = h.backend.reused;
    const page = await h.openPage(1440);
    const summaries: URL[] = [];
    page.on('request', (r: Request) => {
      if (r.url().includes('/summary')) summaries.push(new URL(r.url()));
    });
    await goto(page, `#/tenants/${owner.tenant}`, 'tenants');
    await expect.poll(() => summaries.length).toBeGreaterThan(0);
    const q = summaries[0]!.searchParams;
    const hours = (Date.parse(q.get('until')!) - Date.parse(q.get('since')!)) / 3_600_000;
    const label = await page
      .locator('select[name="range"]')
      .evaluate((s: HTMLSelectElement) => s.selectedOptions[0]?.textContent);
    expect({ hours: Math.round(hours), label }).toEqual({ hours: 24, label: 'Last 24 hours' });
    await page.close();
  });

  it('auto-refresh keeps the panels; with the API gone it keeps the data, says so and stops the clock', async () => {
    const page = await h.openPage(1440);
    await goto(page, '#/overview?range=1h&refresh=1', 'overview');
    await page.locator('svg.stacked-area').waitFor();
    await page.evaluate(() => {
      const w = window as unknown as { sawLoading: boolean };
      w.sawLoading = false;
      new MutationObserver(() => {
        if (document.querySelector('main')?.textContent?.includes('Loading…')) w.sawLoading = true;
      }).observe(document.querySelector('main')!, { childList: true, subtree: true, characterData: true });
    });
    const updated = page.getByTestId('updated');
    const first = await updated.textContent();
    // A successful refresh moves the clock and never blanks a panel.
    await expect.poll(() => updated.textContent(), { timeout: 20_000 }).not.toBe(first);
    expect(await page.evaluate(() => (window as unknown as { sawLoading: boolean }).sawLoading)).toBe(false);
    let refused = 0;
    await page.route('**/api/v1/**', (route) => {
      refused += 1;
      return route.abort('connectionrefused');
    });
    const banner = page.locator('.banner');
    await expect.poll(() => banner.isVisible(), { timeout: 20_000 }).toBe(true);
    const frozen = await updated.textContent();
    // Two more failed rounds: still the same data and the same clock.
    const seen = refused;
    await expect.poll(() => refused, { timeout: 20_000 }).toBeGreaterThan(seen + 6);
    expect(await updated.textContent()).toBe(frozen);
    expect(await banner.textContent()).toContain('not answering');
    expect(await page.locator('svg.stacked-area path.area').count()).toBeGreaterThan(0);
    expect(await page.locator('.panel-body.stale').count()).toBeGreaterThan(0);
    expect(await page.evaluate(() => (window as unknown as { sawLoading: boolean }).sawLoading)).toBe(false);
    await shot(page, 'overview-api-down');
    await page.unroute('**/api/v1/**');
    await expect.poll(() => banner.isVisible(), { timeout: 20_000 }).toBe(false);
    await page.close();
  });

  it('with the API down at page load the console says so instead of asking for a token', async () => {
    const page = await h.browser.newPage({ viewport: { width: 1440, height: 900 } });
    await page.route('**/api/v1/**', (route) => route.abort('connectionrefused'));
    await page.goto(`${h.backend.url}/#/overview`);
    await page.waitForSelector('main[data-ready="true"]');
    expect(await page.locator('h1').textContent()).toBe('API not answering');
    expect(await page.getByLabel('API token').count()).toBe(0);
    expect(await page.title()).toContain('API not answering');
    await page.close();
  });

  it('flows export covers every matching flow of the window shown, frozen when the results were shown', async () => {
    const page = await h.openPage(1440);
    await goto(page, '#/flows?since=-3h', 'flows');
    const href = await page.getByRole('link', { name: 'Export NDJSON' }).getAttribute('href');
    const q = new URL(href!, h.backend.url).searchParams;
    expect(q.get('limit')).toBeNull();
    const since = q.get('since')!;
    const until = q.get('until')!;
    expect(since).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(until).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(await page.locator('.result-info').textContent()).toContain(since.slice(0, 19).replace('T', ' '));
    const all = await h.api<{ count: number }>(`/api/v1/flows?since=${since}&until=${until}&limit=10000`);
    expect(all.count).toBeGreaterThan(500);
    const res = await fetch(new URL(href!, h.backend.url), {
      headers: {
        Authorization: `Bearer ${(await page.evaluate(() => sessionStorage.getItem('flowtrail.token')))!}`,
      },
    });
    const lines = (await res.text()).trim().split('\n');
    expect(lines.length).toBe(all.count);
    await page.close();
  });

  it('at 1024 px the pages fit the width and table cells never break a word', async () => {
    const page = await h.openPage(1024);
    const { owner } = h.backend.reused;
    const since = iso(h.backend.demoSinceMs - 60_000);
    for (const [hash, name] of [
      [`#/flows?since=${since}`, 'flows'],
      [`#/overview?range=custom&since=${since}`, 'overview'],
      [`#/alerts`, 'alerts'],
      [`#/tenants/${owner.tenant}?range=custom&since=${since}`, 'tenants'],
    ] as const) {
      await goto(page, hash, name);
      await page.waitForLoadState('networkidle');
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect({ name, overflow }).toEqual({ name, overflow: 0 });
      // A word split across lines has more than one line box.
      const broken = await page.evaluate(() => {
        const out: string[] = [];
        for (const cell of document.querySelectorAll('table.data td, table.data th')) {
          const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
          for (let n = walker.nextNode(); n; n = walker.nextNode()) {
            const text = n.textContent ?? '';
            for (const m of text.matchAll(/\S+/g)) {
              if (m[0].length > 24) continue; // only over-long tokens (IPv6) may wrap
              // Prose may wrap after a hyphen, never inside a word.
              if (cell.classList.contains('wrap') && m[0].includes('-')) continue;
              const r = document.createRange();
              r.setStart(n, m.index);
              r.setEnd(n, m.index + m[0].length);
              const lines = new Set([...r.getClientRects()].map((x) => Math.round(x.top)));
              if (lines.size > 1) out.push(m[0]);
            }
          }
        }
        return out;
      });
      expect({ name, broken }).toEqual({ name, broken: [] });
    }
    await page.close();
  });

  it('an unknown route shows a not-found page with its own title', async () => {
    const page = await h.openPage(1440);
    await goto(page, '#/flows', 'flows');
    await goto(page, '#/nope', 'not-found');
    expect(await page.locator('h1').textContent()).toBe('Not found');
    expect(await page.title()).toBe('Not found · Flowtrail');
    await page.close();
  });
});

interface Viz {
  dimensions: string[];
  step_seconds: number;
  top: { key: string[]; flows: number }[];
}

describe('visualize', () => {
  /** The query string of the page's last /visualize request. */
  const lastQuery = (page: Page) => {
    const seen: string[] = [];
    page.on('request', (r: Request) => {
      if (r.url().includes('/api/v1/visualize')) seen.push(new URL(r.url()).search);
    });
    return () => seen[seen.length - 1];
  };

  it('answers "top 10 accounts by flows to port 25 in the last hour, per minute"', async () => {
    const page = await h.openPage(1440);
    const last = lastQuery(page);
    await goto(page, '#/visualize', 'visualize');
    await page.getByLabel('Dimension 1').selectOption('src_account');
    await page.getByLabel('Top').selectOption('10');
    await page.getByLabel('Step').selectOption('1m');
    await page.getByRole('button', { name: 'Show' }).click();
    await page.waitForSelector('main[data-page="visualize"][data-ready="true"] [data-testid="viz-result"]');
    await page.getByLabel('Filter', { exact: true }).selectOption('to-port');
    await page.getByLabel('Value').fill('25');
    await page.getByRole('button', { name: 'Add filter' }).click();
    await page.waitForSelector('main[data-page="visualize"][data-ready="true"] .chip[data-param="to-port"]');
    const q = new URLSearchParams(last());
    expect(q.get('dimensions')).toBe('src_account');
    expect(q.get('to-port')).toBe('25');
    expect(q.get('step')).toBe('1m');
    expect(q.get('n')).toBe('10');
    expect((Date.parse(q.get('until')!) - Date.parse(q.get('since')!)) / 60_000).toBe(60);
    const want = await h.api<Viz>(`/api/v1/visualize${last()}`);
    expect(want.step_seconds).toBe(60);
    expect(want.top.length).toBeGreaterThan(0);
    const result = page.getByTestId('viz-result');
    expect(await result.getAttribute('data-step')).toBe('60');
    const rows = await page
      .getByTestId('viz-grid')
      .locator('tbody tr')
      .evaluateAll((trs) =>
        trs.map((tr) => [tr.querySelector('th')?.textContent?.trim(), tr.querySelector('a')?.textContent]),
      );
    expect(rows).toEqual(want.top.map((t) => [t.key[0] || '(none)', t.flows.toLocaleString('en-US')]));
    // One stacked series per account (plus "Other" when the top 10 leave flows out).
    expect(await page.locator('svg.stacked-area path.area').count()).toBeGreaterThanOrEqual(want.top.length);
    await shot(page, 'visualize-port25');
    await page.close();
  });

  it('answers "flows from tenant X to the world by remote /24", and a row drills into its flows', async () => {
    const { owner } = h.backend.reused;
    const since = iso(h.backend.demoSinceMs - 60_000);
    const until = iso(Date.now() + 60_000);
    const page = await h.openPage(1440);
    const last = lastQuery(page);
    await goto(
      page,
      `#/visualize?range=custom&since=${since}&until=${until}&dimensions=remote_24&tenant=${owner.tenant}&scope=world&view=grid`,
      'visualize',
    );
    const want = await h.api<Viz>(`/api/v1/visualize${last()}`);
    expect(want.top.length).toBeGreaterThan(0);
    for (const t of want.top) expect(t.key[0]).toMatch(/^\d+\.\d+\.\d+\.0\/24$/);
    const grid = page.getByTestId('viz-grid');
    expect(await grid.locator('tbody tr').count()).toBe(want.top.length);
    await shot(page, 'visualize-world-24');
    const first = want.top[0]!;
    await grid.locator('tbody tr').first().locator('a').click();
    await page.waitForSelector('main[data-page="flows"][data-ready="true"]');
    await expect.poll(() => page.locator('.chip[data-param="ip"]').textContent()).toContain(first.key[0]);
    expect(await page.locator('.chip[data-param="tenant"]').textContent()).toContain(owner.tenant);
    const flows = await h.api<{ count: number }>(
      `/api/v1/flows?since=${since}&until=${until}&tenant=${owner.tenant}&scope=world&ip=${first.key[0]}&limit=5000`,
    );
    expect(flows.count).toBeGreaterThanOrEqual(first.flows);
    expect(Number(await page.locator('.vt').getAttribute('data-row-count'))).toBe(Math.min(500, flows.count));
    await page.close();
  });

  it('draws a sankey of two dimensions whose bands drill into their flows', async () => {
    const since = iso(h.backend.demoSinceMs - 60_000);
    const page = await h.openPage(1440);
    await goto(
      page,
      `#/visualize?range=custom&since=${since}&dimensions=src_tenant,verdict&view=sankey`,
      'visualize',
    );
    const links = page.locator('svg.sankey path.sankey-link');
    await expect.poll(() => links.count()).toBeGreaterThan(1);
    await shot(page, 'visualize-sankey');
    await page.close();
  });
});

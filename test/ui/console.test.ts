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
    const svg = page.locator('svg.stacked-area').first();
    await svg.waitFor();
    expect(await svg.getAttribute('data-since')).toBe(since);
    expect(await svg.getAttribute('data-until')).toBe(until);
    const series = await page.evaluate(() =>
      [...document.querySelectorAll('svg.stacked-area')[0]!.querySelectorAll('path.area')].map((el) => {
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
    expect(await page.locator('svg.stacked-area').first().getAttribute('data-since')).toBe(want(since));
    expect(await page.locator('svg.stacked-area').first().getAttribute('data-until')).toBe(want(until));
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
    await page.locator('svg.stacked-area').first().waitFor();
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

  it('at 1024 px the pages fit the width, table cells never break a word, headers show in full', async () => {
    const page = await h.openPage(1024);
    const { owner } = h.backend.reused;
    const since = iso(h.backend.demoSinceMs - 60_000);
    for (const [hash, name] of [
      [`#/flows?since=${since}`, 'flows'],
      // The sort arrow widens the narrowest sortable header.
      [`#/flows?since=${since}&sort=dst_port`, 'flows'],
      [`#/overview?range=custom&since=${since}`, 'overview'],
      [`#/alerts`, 'alerts'],
      [`#/tenants/${owner.tenant}?range=custom&since=${since}`, 'tenants'],
    ] as const) {
      await goto(page, hash, name);
      await page.waitForLoadState('networkidle');
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect({ name, overflow }).toEqual({ name, overflow: 0 });
      // Header labels (with the sort arrow) are never clipped.
      const clipped = await page.evaluate(() =>
        [...document.querySelectorAll('.vt-head .vt-cell')]
          .filter((c) => c.scrollWidth > c.clientWidth)
          .map((c) => c.textContent),
      );
      expect({ name, clipped }).toEqual({ name, clipped: [] });
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

describe('dashboards', () => {
  it('variables in the URL narrow every panel and every link; drops get their own panel', async () => {
    const { owner } = h.backend.reused;
    const since = iso(h.backend.demoSinceMs - 60_000);
    const until = iso(Date.now() + 60_000);
    const page = await h.openPage(1440);
    const asked: URL[] = [];
    page.on('request', (r: Request) => {
      if (/\/api\/v1\/(timeseries|top)/.test(r.url())) asked.push(new URL(r.url()));
    });
    await goto(page, `#/overview?range=custom&since=${since}&until=${until}`, 'overview');
    await page.getByLabel('Tenant', { exact: true }).fill(owner.tenant);
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForSelector('main[data-page="overview"][data-ready="true"]');
    await expect.poll(() => page.evaluate(() => location.hash)).toContain(`tenant=${owner.tenant}`);
    await expect
      .poll(() => asked.filter((u) => u.searchParams.get('tenant') === owner.tenant).length)
      .toBeGreaterThan(4);
    const legend = page.locator('.legend a').first();
    await legend.waitFor();
    expect(await legend.getAttribute('href')).toContain(`tenant=${owner.tenant}`);
    // The drop-rate panel: its legend totals are the API's drops by reason for this tenant.
    const drops = await h.api<{ points: { key: string; flows: number }[] }>(
      `/api/v1/timeseries?by=drop_reason&verdict=DROPPED&tenant=${owner.tenant}&since=${since}&until=${until}&step=3600s`,
    );
    const total = drops.points.reduce((a, p) => a + p.flows, 0);
    expect(total).toBeGreaterThan(0);
    const dropSvg = page.locator('svg[aria-label="Dropped events per second by drop reason"]');
    await dropSvg.waitFor();
    const shown = await page.locator('figure', { has: dropSvg }).locator('.legend a').allTextContents();
    expect(
      shown.reduce((a, t) => a + Number(/: ([\d,]+) events/.exec(t)?.[1]?.replace(/,/g, '') ?? 0), 0),
    ).toBe(total);
    await page.close();
  });

  it('hovering a time chart shows the exact counts of the step; dragging zooms into the selection', async () => {
    const since = iso(h.backend.demoSinceMs - 60_000);
    const until = iso(Date.now() + 60_000);
    const page = await h.openPage(1440);
    const asked: URL[] = [];
    page.on('request', (r: Request) => {
      if (r.url().includes('/api/v1/timeseries') && r.url().includes('by=verdict'))
        asked.push(new URL(r.url()));
    });
    await goto(page, `#/overview?range=custom&since=${since}&until=${until}`, 'overview');
    const svg = page.locator('svg[aria-label="Flow events per second by verdict"]');
    await svg.waitFor();
    const q = asked[asked.length - 1]!.search;
    const ts = await h.api<{ step_seconds: number; points: { time: string; key: string; flows: number }[] }>(
      `/api/v1/timeseries${q}`,
    );
    const stepMs = ts.step_seconds * 1000;
    // The busiest step, and where its middle is on screen.
    const byT = new Map<string, number>();
    for (const p of ts.points) byT.set(p.time, (byT.get(p.time) ?? 0) + p.flows);
    const [busiest] = [...byT].sort((a, b) => b[1] - a[1])[0]!;
    const box = (await svg.boundingBox())!;
    const vb = await svg.evaluate((el) => (el as SVGSVGElement).viewBox.baseVal.width);
    const xAt = (ms: number) =>
      box.x +
      ((56 + ((ms - Date.parse(since)) / (Date.parse(until) - Date.parse(since))) * (vb - 72)) * box.width) /
        vb;
    const y = box.y + box.height / 2;
    await page.mouse.move(xAt(Date.parse(busiest) + stepMs / 2), y);
    const tip = page.locator('.chart-tip').first();
    await expect.poll(() => tip.isVisible()).toBe(true);
    for (const p of ts.points.filter((x) => x.time === busiest)) {
      expect(await tip.locator(`tr[data-key="${p.key}"] td`).nth(2).textContent()).toBe(
        p.flows.toLocaleString('en-US'),
      );
    }
    // Drag from 10 to 20 minutes into the demo: the page zooms to about that window.
    const from = h.backend.demoSinceMs + 10 * 60_000;
    const to = h.backend.demoSinceMs + 20 * 60_000;
    await page.mouse.move(xAt(from), y);
    await page.mouse.down();
    await page.mouse.move(xAt((from + to) / 2), y, { steps: 4 });
    await page.mouse.move(xAt(to), y, { steps: 4 });
    await page.mouse.up();
    await page.waitForFunction(
      () => location.hash.includes('range=custom') && !location.hash.includes('refresh'),
    );
    await expect
      .poll(async () => {
        const p = new URLSearchParams((await page.evaluate(() => location.hash)).split('?')[1]);
        return (
          Math.abs(Date.parse(p.get('since')!) - from) < 60_000 &&
          Math.abs(Date.parse(p.get('until')!) - to) < 60_000
        );
      })
      .toBe(true);
    await page.close();
  });

  it('the tenant page has its own rate chart, drop rate, top talkers and ports', async () => {
    const { owner } = h.backend.reused;
    const since = iso(h.backend.demoSinceMs - 60_000);
    const until = iso(Date.now() + 60_000);
    const page = await h.openPage(1440);
    await goto(page, `#/tenants/${owner.tenant}?range=custom&since=${since}&until=${until}`, 'tenants');
    expect(
      await page
        .locator(`svg[aria-label="Flow events per second of ${owner.tenant} by verdict"] path.area`)
        .count(),
    ).toBeGreaterThan(0);
    const srcs = await h.api<{ items: { ip: string; flows: number }[] }>(
      `/api/v1/top?by=source&n=10&tenant=${owner.tenant}&since=${since}&until=${until}`,
    );
    const panelOf = (title: string) =>
      page.locator('section.panel', { has: page.getByRole('heading', { name: title }) });
    const shown = await panelOf('Top sources').locator('.bar-label').allTextContents();
    expect(shown.map((s) => s.split(' ')[0])).toEqual(srcs.items.map((i) => i.ip));
    expect(await panelOf('Top destination ports').locator('li').count()).toBeGreaterThan(0);
    expect(await panelOf('Dropped events per second, by reason').locator('svg').count()).toBe(1);
    await shot(page, 'tenant-dashboard');
    await page.close();
  });
});

describe('alerts', () => {
  it('pages, filters and groups incidents, opens one with its targets and evidence, and shows rules as text', async () => {
    type Inc = { id: string; rule: string; status: string; tenant: string };
    const all = await h.api<{ incidents: Inc[] }>('/api/v1/alerts/incidents?limit=2000');
    const page = await h.openPage(1440);
    await goto(page, '#/alerts', 'alerts');
    const rows = page.getByTestId('incidents').locator('tbody tr');
    await expect.poll(() => rows.count()).toBe(Math.min(25, all.incidents.length));
    expect(await page.getByTestId('incident-total').textContent()).toContain(
      `${all.incidents.length.toLocaleString('en-US')} incidents`,
    );
    if (all.incidents.length > 25) {
      await page.getByRole('button', { name: 'Next' }).click();
      await page.waitForSelector('main[data-page="alerts"][data-ready="true"]');
      await expect
        .poll(() => page.getByTestId('incidents').locator('tbody tr').count())
        .toBe(Math.min(25, all.incidents.length - 25));
    }
    // Filter by a rule: the API's answer for that rule, page by page.
    const rule = all.incidents[0]!.rule;
    const ofRule = all.incidents.filter((i) => i.rule === rule);
    await page.getByLabel('Rule', { exact: true }).fill(rule);
    await page.getByLabel('Group by').selectOption('tenant');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForSelector('main[data-page="alerts"][data-ready="true"] .incident-group');
    const tenants = new Set(ofRule.map((i) => i.tenant || '(none)'));
    expect(await page.locator('.incident-group').count()).toBe(tenants.size);
    expect(await page.getByTestId('incident-total').textContent()).toContain(
      `${ofRule.length} incidents in ${tenants.size} groups`,
    );
    // Rules read as text, not JSON.
    const rulesText = await page.getByTestId('rules').textContent();
    expect(rulesText).not.toContain('{"');
    // An incident's detail: targets, ports, counts and a link to the flows behind it.
    await goto(page, `#/alerts?incident=${all.incidents[0]!.id}`, 'alerts');
    const detail = page.getByTestId('incident-detail');
    await detail.waitFor();
    expect(await detail.textContent()).toContain('Targets');
    const evidence = detail.getByRole('link', { name: /Evidence/ });
    expect(await evidence.getAttribute('href')).toMatch(/^#\/flows\?/);
    await shot(page, 'alerts-incident');
    await evidence.click();
    await page.waitForSelector('main[data-page="flows"][data-ready="true"]');
    expect(Number(await page.locator('.vt').getAttribute('data-row-count'))).toBeGreaterThan(0);
    await page.close();
  });

  it('dark mode follows the system preference', async () => {
    const page = await h.openPage(1440);
    await page.emulateMedia({ colorScheme: 'dark' });
    const bg = await page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
    const [r, g, b] = (bg.match(/\d+/g) ?? []).map(Number);
    expect((r ?? 255) + (g ?? 255) + (b ?? 255)).toBeLessThan(150);
    await page.emulateMedia({ colorScheme: 'light' });
    const light = await page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
    expect(light).not.toBe(bg);
    await page.close();
  });
});

describe('flows page', () => {
  it('shows the total hit count and a histogram of the whole result, not only the loaded page', async () => {
    const since = iso(h.backend.demoSinceMs - 60_000);
    const until = iso(Date.now() + 60_000);
    const page = await h.openPage(1440);
    await goto(page, `#/flows?since=${since}&until=${until}&verdict=FORWARDED`, 'flows');
    const all = await h.api<{ count: number }>(
      `/api/v1/flows?since=${since}&until=${until}&verdict=FORWARDED&limit=10000`,
    );
    expect(all.count).toBeGreaterThan(500);
    await expect
      .poll(() => page.getByTestId('hit-count').textContent())
      .toBe(all.count.toLocaleString('en-US'));
    expect(await page.getByTestId('flow-histogram').locator('svg path.area').count()).toBe(1);
    await shot(page, 'flows');
    // The column chooser: hide two columns; the choice is in the URL and the API is not bothered with it.
    await page.getByText('Columns', { exact: true }).click();
    await page.getByLabel('Type', { exact: true }).uncheck();
    await page.getByLabel('Summary', { exact: true }).uncheck();
    await page.getByRole('button', { name: 'Apply columns' }).click();
    await page.waitForSelector('main[data-page="flows"][data-ready="true"]');
    await expect.poll(() => page.evaluate(() => location.hash)).toContain('cols=');
    await expect
      .poll(() => page.locator('.vt-head [role="columnheader"]').allTextContents())
      .toEqual(['Time (UTC)', 'Source', 'Src port', 'Destination', 'Dst port', 'Verdict']);
    // The new table is drawn before its rows arrive (data-ready may still be the old render's).
    await expect.poll(async () => Number(await page.locator('.vt').getAttribute('data-row-count'))).toBe(500);
    await page.close();
  });
});

describe('service map', () => {
  it('groups addresses by /24 or into one world node, colours edges by verdict, and zooms', async () => {
    const { owner } = h.backend.reused;
    const since = iso(h.backend.demoSinceMs - 60_000);
    const until = iso(Date.now() + 60_000);
    const topo = await h.api<{ edges: { source: string; destination: string }[] }>(
      `/api/v1/topology?tenant=${owner.tenant}&edges=150&since=${since}&until=${until}`,
    );
    const isAddr = (id: string) => /^[0-9a-f:.]+$/i.test(id);
    const group24 = (id: string) =>
      isAddr(id) && /^\d+\.\d+\.\d+\.\d+$/.test(id) ? `${id.split('.').slice(0, 3).join('.')}.0/24` : id;
    const groupW = (id: string) => (isAddr(id) ? 'world' : id);
    const nodes = (g: (id: string) => string) =>
      new Set(topo.edges.flatMap((e) => [g(e.source), g(e.destination)])).size;
    const page = await h.openPage(1440);
    const base = `#/tenants/${owner.tenant}?range=custom&since=${since}&until=${until}`;
    await goto(page, base, 'tenants');
    const svg = page.locator('svg.service-map');
    await svg.waitFor();
    expect(Number(await svg.getAttribute('data-nodes'))).toBe(nodes(group24));
    expect(nodes(group24)).toBeLessThan(nodes((id) => id));
    await goto(page, `${base}&group=world`, 'tenants');
    await page.locator('svg.service-map').waitFor();
    expect(Number(await page.locator('svg.service-map').getAttribute('data-nodes'))).toBe(nodes(groupW));
    expect(await page.locator('svg.service-map g.node text', { hasText: /^world$/ }).count()).toBe(1);
    // Edges carry their verdict's colour; dropped ones are dashed.
    const verdicts = await page
      .locator('svg.service-map line.link')
      .evaluateAll((ls) => ls.map((l) => l.getAttribute('data-verdict')));
    expect(verdicts.every((v) => !!v)).toBe(true);
    // Wheel zoom transforms the viewport.
    await page.locator('svg.service-map').scrollIntoViewIfNeeded();
    const box = (await page.locator('svg.service-map').boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.wheel(0, -400);
    await expect
      .poll(() => page.locator('svg.service-map g.viewport').getAttribute('transform'))
      .toContain('scale');
    await shot(page, 'tenant-map-world');
    // The cluster-wide map: every tenant's owners, addresses grouped the same way.
    const all = await h.api<{ edges: { source: string; destination: string }[] }>(
      `/api/v1/topology?edges=300&since=${since}&until=${until}`,
    );
    await goto(page, `#/map?range=custom&since=${since}&until=${until}`, 'map');
    const cluster = page.locator('svg.service-map');
    await cluster.waitFor();
    expect(Number(await cluster.getAttribute('data-nodes'))).toBe(
      new Set(all.edges.flatMap((e) => [group24(e.source), group24(e.destination)])).size,
    );
    await shot(page, 'service-map');
    await page.close();
  });
});

/**
 * The console's second round (issue 15), in real Chromium: flows sorted by a column header (by
 * the API, export included), one time range shared by every page with a picker, incidents paged
 * by the API past 2,000, the service map grouping world addresses by DNS name, and Visualize
 * drilling into exactly the flows of a series.
 * @module
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeSyntheticIncidents } from '../../query-api/src/alerts/testing.ts';
import { ms2ns } from '../demo-traffic.ts';
import { testTokens } from './backend.ts';
import { goto, type Harness, iso, shot, startHarness } from './harness.ts';

let h: Harness;
/** More incidents than the old in-browser paging could hold (it fetched at most 2,000). */
const synthetic = 2_345;

beforeAll(async () => {
  h = await startHarness();
  await storeSyntheticIncidents(h.backend.store, synthetic, {
    rule: 'synthetic',
    lastNs: ms2ns(h.backend.demoSinceMs - 3_600_000),
  });
}, 300_000);

afterAll(async () => {
  await h?.close();
});

/** The cells of the loaded rows of the flow table that are in the DOM, by row index. */
async function tableCells(page: Page): Promise<string[][]> {
  const rows = await page
    .locator('.vt-body [role="row"]')
    .evaluateAll((rs) =>
      rs.map(
        (r) =>
          [
            Number(r.getAttribute('data-index')),
            [...r.querySelectorAll('[role="gridcell"]')].map((c) => c.textContent ?? ''),
          ] as const,
      ),
    );
  return rows.sort((a, b) => a[0] - b[0]).map(([, cells]) => cells);
}

/** The hash parameters of the page. */
async function hashParams(page: Page): Promise<URLSearchParams> {
  return new URLSearchParams((await page.evaluate(() => location.hash)).split('?')[1] ?? '');
}

describe('flows page', () => {
  it('sorts by a column header through the API, reverses on a second click, and exports in that order', async () => {
    const since = iso(h.backend.demoSinceMs - 60_000);
    const until = iso(Date.now() + 60_000);
    const page = await h.openPage(1440);
    await goto(page, `#/flows?range=custom&since=${since}&until=${until}`, 'flows');
    const header = page.locator('.vt-head [role="columnheader"]', { hasText: 'Dst port' });
    expect(await header.getAttribute('aria-sort')).toBe('none');
    expect(
      await page.locator('.vt-head [role="columnheader"]', { hasText: 'Time' }).getAttribute('aria-sort'),
    ).toBe('descending');
    const asked: URL[] = [];
    page.on('request', (r) => {
      if (r.url().includes('/api/v1/flows?')) asked.push(new URL(r.url()));
    });
    // First click: ascending by destination port, asked of the API (not sorted in the page).
    await header.getByRole('button').click();
    await page.waitForSelector('main[data-page="flows"][data-ready="true"]');
    await expect.poll(async () => (await hashParams(page)).get('sort')).toBe('dst_port');
    expect(asked.some((u) => u.searchParams.get('sort') === 'dst_port')).toBe(true);
    const api = await h.api<{ flows: { flow: { l4?: Record<string, { destination_port?: number }> } }[] }>(
      `/api/v1/flows?since=${since}&until=${until}&sort=dst_port&order=asc&limit=20`,
    );
    const portOf = (f: (typeof api.flows)[number]) =>
      String(Object.values(f.flow.l4 ?? {})[0]?.destination_port ?? '');
    await expect
      .poll(async () => (await tableCells(page)).slice(0, 20).map((c) => c[4]))
      .toEqual(api.flows.map(portOf));
    expect(
      await page.locator('.vt-head [role="columnheader"]', { hasText: 'Dst port' }).getAttribute('aria-sort'),
    ).toBe('ascending');
    // Second click: descending.
    await page.locator('.vt-head [role="columnheader"]', { hasText: 'Dst port' }).getByRole('button').click();
    await page.waitForSelector('main[data-page="flows"][data-ready="true"]');
    await expect
      .poll(() =>
        page.locator('.vt-head [role="columnheader"]', { hasText: 'Dst port' }).getAttribute('aria-sort'),
      )
      .toBe('descending');
    // The re-rendered header can show before the new rows arrive: wait for the rows.
    await expect.poll(async () => (await tableCells(page)).length).toBeGreaterThan(10);
    const shown = (await tableCells(page)).map((c) => Number(c[4] || 0));
    expect(shown).toEqual([...shown].sort((a, b) => b - a));
    await shot(page, 'flows-sorted');
    // The export is of every matching flow, in the order shown.
    const href = await page.getByRole('link', { name: 'Export NDJSON' }).getAttribute('href');
    const url = new URL(href!, h.backend.url);
    expect(url.searchParams.get('sort')).toBe('dst_port');
    const res = await fetch(url, { headers: { Authorization: `Bearer ${testTokens.admin}` } });
    const ports = (await res.text())
      .trim()
      .split('\n')
      .map((l) => {
        const f = JSON.parse(l) as { flow: { l4?: Record<string, { destination_port?: number }> } };
        return Object.values(f.flow.l4 ?? {})[0]?.destination_port ?? 0;
      });
    expect(ports.length).toBeGreaterThan(500);
    expect(ports).toEqual([...ports].sort((a, b) => b - a));
    await page.close();
  });

  it('one time range for every page: a preset chosen on one page is the range of the next', async () => {
    const page = await h.openPage(1440);
    const rangeSelect = () => page.locator('form.time-range select[name="range"]');
    await rangeSelect().selectOption('15m');
    await page.waitForSelector('main[data-page="overview"][data-ready="true"]');
    await expect.poll(async () => (await hashParams(page)).get('range')).toBe('15m');
    const asked: URL[] = [];
    page.on('request', (r) => {
      if (r.url().includes('/api/v1/flows?')) asked.push(new URL(r.url()));
    });
    // The navigation carries the range to the flows page, which queries it.
    await page.locator('#nav a', { hasText: /^Flows$/ }).click();
    await page.waitForSelector('main[data-page="flows"][data-ready="true"]');
    expect(await rangeSelect().inputValue()).toBe('15m');
    // The table's page (JSON), not an export link.
    const first = asked.find((u) => (u.searchParams.get('format') ?? 'json') === 'json');
    expect(first).toBeDefined();
    const span = (u: URL) =>
      (Date.parse(u.searchParams.get('until')!) - Date.parse(u.searchParams.get('since')!)) / 60_000;
    expect(span(first!)).toBeCloseTo(15, 1);
    // Chosen on the flows page, the range travels on to Visualize and the service map.
    asked.length = 0;
    await rangeSelect().selectOption('6h');
    await page.waitForSelector('main[data-page="flows"][data-ready="true"]');
    await expect.poll(async () => (await hashParams(page)).get('range')).toBe('6h');
    await expect.poll(() => asked.length).toBeGreaterThan(0);
    expect(span(asked[0]!)).toBeCloseTo(360, 1);
    await shot(page, 'flows-range');
    await page.locator('#nav a', { hasText: /^Visualize$/ }).click();
    await page.waitForSelector('main[data-page="visualize"][data-ready="true"]');
    expect(await rangeSelect().inputValue()).toBe('6h');
    await page.locator('#nav a', { hasText: /^Service map$/ }).click();
    await page.waitForSelector('main[data-page="map"][data-ready="true"]');
    expect(await rangeSelect().inputValue()).toBe('6h');
    await page.close();
  });
});

describe('alerts', () => {
  it('pages through more than 2,000 incidents with the API, and groups them by its counts', async () => {
    type Inc = { id: string };
    const page = await h.openPage(1440);
    await goto(page, '#/alerts?rule=synthetic', 'alerts');
    const pages = Math.ceil(synthetic / 25);
    await expect
      .poll(() => page.getByTestId('incident-total').textContent())
      .toContain(`${synthetic.toLocaleString('en-US')} incidents · page 1 of ${pages}`);
    // The page before the last, then Next: the last page, as the API pages it.
    await goto(page, `#/alerts?rule=synthetic&page=${pages - 1}`, 'alerts');
    await page.getByRole('button', { name: 'Next' }).click();
    await page.waitForSelector('main[data-page="alerts"][data-ready="true"]');
    await expect.poll(async () => (await hashParams(page)).get('page')).toBe(String(pages));
    const last = await h.api<{ incidents: Inc[]; total: number }>(
      `/api/v1/alerts/incidents?rule=synthetic&limit=25&offset=${(pages - 1) * 25}`,
    );
    expect(last.total).toBe(synthetic);
    await expect
      .poll(() =>
        page
          .getByTestId('incidents')
          .locator('tbody tr')
          .evaluateAll((rs) => rs.map((r) => r.id.replace(/^incident-/, ''))),
      )
      .toEqual(last.incidents.map((i) => i.id));
    expect(last.incidents.length).toBe(synthetic - (pages - 1) * 25);
    await shot(page, 'alerts-last-page');
    // Grouped by tenant: the API counts every group; opening one loads its incidents.
    await goto(page, '#/alerts?rule=synthetic&group=tenant', 'alerts');
    const groups = await h.api<{ groups: { key: string; count: number }[] }>(
      '/api/v1/alerts/incidents?rule=synthetic&limit=1&group=tenant',
    );
    await expect.poll(() => page.locator('.incident-group').count()).toBe(groups.groups.length);
    expect(await page.getByTestId('incident-total').textContent()).toContain(
      `${synthetic.toLocaleString('en-US')} incidents in ${groups.groups.length} groups`,
    );
    const g = page.locator('.incident-group').first();
    await g.locator('summary').click();
    await expect.poll(() => g.locator('tbody tr').count()).toBe(Math.min(100, groups.groups[0]!.count));
    await page.close();
  });
});

describe('visualize', () => {
  it('drills from a source account into exactly the flows of its series', async () => {
    type Viz = { top: { key: string[]; flows: number }[] };
    const since = iso(h.backend.demoSinceMs - 60_000);
    const until = iso(Date.now() + 60_000);
    const range = `since=${since}&until=${until}`;
    const want = await h.api<Viz>(`/api/v1/visualize?dimensions=src_account&n=10&${range}`);
    const named = want.top.filter((t) => t.key[0]);
    expect(named.length).toBeGreaterThan(0);
    // Prefer an account that is also a destination: there the either-end word selects more flows.
    const count = async (q: string) =>
      (await h.api<{ count: number }>(`/api/v1/flows?${range}&${q}&limit=10000`)).count;
    let pick = named[0]!;
    for (const t of named) {
      if ((await count(`account=${encodeURIComponent(t.key[0]!)}`)) > t.flows) {
        pick = t;
        break;
      }
    }
    const account = pick.key[0]!;
    expect(await count(`from-account=${encodeURIComponent(account)}`)).toBe(pick.flows);
    const page = await h.openPage(1440);
    await goto(page, `#/visualize?range=custom&${range}&dimensions=src_account&view=grid`, 'visualize');
    const row = page.locator(`[data-testid="viz-grid"] tbody tr[data-key="${account}"]`);
    await row.locator('a').first().click();
    await page.waitForSelector('main[data-page="flows"][data-ready="true"]');
    await expect
      .poll(() => page.locator('.chip[data-param="from-account"]').textContent())
      .toContain(account);
    expect(await page.locator('.chip[data-param="account"]').count()).toBe(0);
    await expect
      .poll(() => page.getByTestId('hit-count').textContent())
      .toBe(pick.flows.toLocaleString('en-US'));
    await shot(page, 'visualize-drill-source-account');
    await page.close();
  });
});

describe('service map', () => {
  it('groups world addresses by the DNS name they were looked up by, else by /24', async () => {
    const since = iso(h.backend.demoSinceMs - 60_000);
    const until = iso(Date.now() + 60_000);
    const topo = await h.api<{
      nodes: { id: string; name?: string }[];
      edges: { source: string; destination: string }[];
    }>(`/api/v1/topology?edges=300&since=${since}&until=${until}`);
    const names = new Map(topo.nodes.filter((n) => n.name).map((n) => [n.id, n.name!]));
    expect(names.size).toBeGreaterThan(0);
    const group = (id: string) => {
      if (id.includes('/')) return id;
      const name = names.get(id);
      if (name) return name;
      const m = /^(\d+\.\d+\.\d+)\.\d+$/.exec(id);
      return m ? `${m[1]}.0/24` : id;
    };
    const groups = new Set(topo.edges.flatMap((e) => [group(e.source), group(e.destination)]));
    const page = await h.openPage(1440);
    await goto(page, `#/map?range=custom&since=${since}&until=${until}&group=dns`, 'map');
    const svg = page.locator('svg.service-map');
    await svg.waitFor();
    expect(Number(await svg.getAttribute('data-nodes'))).toBe(groups.size);
    // A name some edge leads to (names mostly come from destination_names).
    const name = [...new Set(names.values())].find((n) => topo.edges.some((e) => group(e.destination) === n));
    expect(name).toBeDefined();
    if (!name) return;
    expect(await page.locator('svg.service-map g.node text', { hasText: name }).count()).toBeGreaterThan(0);
    await shot(page, 'service-map-dns');
    // A name node's edge drills into the flows that recorded that name (Hubble's fqdn words).
    await page.locator(`svg.service-map line.link[data-target="${name}"]`).first().dispatchEvent('click');
    await page.waitForSelector('main[data-page="flows"][data-ready="true"]');
    await expect.poll(() => page.locator('.chip[data-param="to-fqdn"]').textContent()).toContain(name);
    expect(Number(await page.locator('.vt').getAttribute('data-row-count'))).toBeGreaterThan(0);
    await page.close();
  });
});

import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testTokens } from './backend.ts';
import { goto, type Harness, iso, shot, startHarness } from './harness.ts';

let h: Harness;

/** Opens a pivot's menu (a popover) and returns it once shown. */
async function openPivot(pivot: Locator): Promise<Locator> {
  await pivot.locator('.pivot-trigger').click();
  const menu = pivot.locator('.pivot-menu');
  await menu.waitFor({ state: 'visible' });
  return menu;
}

/** The menu every pivot kind must offer, in order (issue 14: filter, exclude, investigate, activity, who held). */
const pivotMenus: Record<string, string[]> = {
  ip: ['Filter flows by it', 'Exclude it', 'Investigate it', 'Activity ±1 h', 'Who held it at this instant'],
  alloc: ['Filter flows by it', 'Exclude it', 'Investigate it', 'Activity ±1 h'],
  account: ['Filter flows by it', 'Exclude it', 'Investigate it', 'Activity ±1 h'],
  tenant: ['Filter flows by it', 'Exclude it', 'Investigate it', 'Activity ±1 h'],
  job: ['Filter flows by it', 'Exclude it', 'Activity ±1 h'],
};

/**
 * Opens every pivot under `scope` (at most `max` per kind) and checks its menu: each group (one per
 * target; an owner pivot has one per allocation, job, account and tenant) lists its kind's entries.
 * Returns the kinds seen.
 */
async function checkPivotMenus(page: Page, scope: Locator, max = 2): Promise<Set<string>> {
  const seen = new Map<string, number>();
  const n = await scope.locator('.pivot').count();
  for (let i = 0; i < n; i++) {
    const p = scope.locator('.pivot').nth(i);
    const kind = (await p.getAttribute('data-pivot-kind')) ?? '';
    if ((seen.get(kind) ?? 0) >= max) continue;
    seen.set(kind, (seen.get(kind) ?? 0) + 1);
    const menu = await openPivot(p);
    const groups = await menu.locator('[role="group"]').evaluateAll((els) =>
      els.map((g) => ({
        kind: g.getAttribute('data-pivot-kind') ?? '',
        items: [...g.querySelectorAll('[role="menuitem"]')].map((a) => a.textContent ?? ''),
      })),
    );
    expect(groups.length).toBeGreaterThan(0);
    for (const g of groups) {
      expect(g.items, `${kind} pivot, ${g.kind} group`).toEqual(pivotMenus[g.kind]);
      seen.set(g.kind, Math.max(seen.get(g.kind) ?? 0, 1));
    }
    await page.keyboard.press('Escape');
    await menu.waitFor({ state: 'hidden' });
  }
  return new Set(seen.keys());
}

/** The flows page's row count once loaded. */
const rowCount = (page: Page) => page.locator('.vt').getAttribute('data-row-count');

/** The flows API answer for the flows page's current hash (what its table must show). */
async function apiForHash(
  page: Page,
): Promise<{ count: number; flows: { attribution: Record<string, any> }[] }> {
  const hash = await page.evaluate(() => location.hash);
  const q = new URLSearchParams(hash.slice(hash.indexOf('?') + 1));
  if (!q.get('limit')) q.set('limit', '500');
  return h.api(`/api/v1/flows?${q.toString()}`);
}

/** Waits for the flows page to show exactly what the API answers for its hash; returns that answer. */
async function flowsMatchApi(page: Page) {
  await page.waitForSelector('main[data-page="flows"][data-ready="true"]');
  const want = await apiForHash(page);
  await expect.poll(() => rowCount(page)).toBe(String(want.count));
  return want;
}

/** True when no end of any flow is owned by `field` = `value`. */
const noEndOwnedBy = (flows: { attribution: Record<string, any> }[], field: string, value: string) =>
  flows.every((l) => ['source', 'destination'].every((e) => l.attribution?.[e]?.[field] !== value));
const api = <T>(p: string, init?: RequestInit) => h.api<T>(p, init);

/**
 * A flow of the planted address scan as the victim saw it: TCP from the node's post-SNAT address
 * (`IP.source_xlated`) to a world address, the first of the demo traffic.
 */
async function snatScanFlow(ip: string): Promise<Record<string, any>> {
  const since = iso(h.backend.demoSinceMs - 60_000);
  const seen = await api<{ flows: { flow: Record<string, any> }[] }>(
    `/api/v1/flows?from-ip=${ip}&to-ip=198.51.100.0/24&to-ip=203.0.113.0/24&since=${since}&until=now&limit=50&order=oldest`,
  );
  const f = seen.flows.map((l) => l.flow).find((x) => x['IP']?.['source_xlated'] && x['l4']?.['TCP']);
  expect(f).toBeDefined();
  return f!;
}
const openPage = (width: number, token?: string) => h.openPage(width, token);

beforeAll(async () => {
  h = await startHarness();
}, 300_000);

afterAll(async () => {
  await h?.close();
});

describe('ui', () => {
  it('signs in with a token and shows the navigation for the role', async () => {
    const admin = await openPage(1280);
    const nav = async (p: Page) => (await p.locator('#nav a').allTextContents()).map((s) => s.trim());
    expect(await nav(admin)).toEqual([
      'Overview',
      'Visualize',
      'Flows',
      'Investigate',
      'Tenants',
      'Service map',
      'Alerts',
    ]);
    expect(await admin.evaluate(() => sessionStorage.getItem('flowtrail.token'))).toBe(testTokens.admin);
    await admin.close();
    const sre = await openPage(1280, testTokens.sre);
    expect(await nav(sre)).toEqual(['Overview', 'Visualize', 'Flows', 'Tenants', 'Service map', 'Alerts']);
    await sre.close();
    const bad = await h.browser.newPage();
    await bad.goto(`${h.backend.url}/#/overview`);
    await bad.waitForSelector('main[data-page="signin"]');
    await bad.getByLabel('API token').fill('wrong');
    await bad.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => bad.getByRole('alert').textContent()).toContain('did not accept');
    await bad.close();
  });

  it('overview draws the verdict rates and top lists from the API, and numbers link to flows', async () => {
    const since = iso(h.backend.demoSinceMs - 60_000);
    const until = iso(Date.now() + 60_000);
    const page = await openPage(1280);
    await goto(page, `#/overview?range=custom&since=${since}&until=${until}`, 'overview');
    const ts = await api<{ points: { key: string }[] }>(
      `/api/v1/timeseries?by=verdict&since=${since}&until=${until}`,
    );
    const keys = new Set(ts.points.map((p) => p.key));
    expect(keys.size).toBeGreaterThan(1);
    await expect
      .poll(() => page.locator('svg[aria-label="Flow events per second by verdict"] path.area').count())
      .toBe(keys.size);
    const tenants = await api<{ items: { tenant: string; flows: number }[] }>(
      `/api/v1/top?by=tenant&n=10&since=${since}&until=${until}`,
    );
    const named = tenants.items.find((i) => i.tenant)!;
    const link = page
      .getByRole('link', { name: `${named.flows.toLocaleString('en-US')} events: ${named.tenant}` })
      .first();
    await expect.poll(() => link.count()).toBeGreaterThan(0);
    await expect.poll(() => page.getByText('Hubble flows are events').count()).toBeGreaterThan(0);
    await shot(page, 'overview');
    await link.click();
    await page.waitForSelector('main[data-page="flows"][data-ready="true"]');
    await expect.poll(() => page.locator('.chip[data-param="tenant"]').textContent()).toContain(named.tenant);
    const rows = Number(await page.locator('.vt').getAttribute('data-row-count'));
    expect(rows).toBe(Math.min(500, named.flows));
    await page.close();
  });

  it('flows explorer: a filter changes the table, bad input is explained inline, the drawer shows the Hubble JSON', async () => {
    const since = iso(h.backend.demoSinceMs - 60_000);
    const page = await openPage(1280);
    await goto(page, `#/flows?since=${since}&limit=1000`, 'flows');
    const all = await api<{ count: number }>(`/api/v1/flows?since=${since}&limit=1000`);
    await expect.poll(() => page.locator('.vt').getAttribute('data-row-count')).toBe(String(all.count));
    // Virtualized: far fewer rows in the DOM than loaded.
    expect(await page.locator('.vt-body .vt-row').count()).toBeLessThan(all.count);
    await page.getByLabel('Filter', { exact: true }).selectOption('verdict');
    await page.getByLabel('Value').fill('DROPPED');
    await page.getByRole('button', { name: 'Add filter' }).click();
    await page.waitForSelector('main[data-page="flows"][data-ready="true"] .chip[data-param="verdict"]');
    const dropped = await api<{ count: number }>(`/api/v1/flows?since=${since}&limit=1000&verdict=DROPPED`);
    expect(dropped.count).toBeGreaterThan(0);
    expect(dropped.count).toBeLessThan(all.count);
    await expect.poll(() => page.locator('.vt').getAttribute('data-row-count')).toBe(String(dropped.count));
    const verdicts = await page.locator('.vt-body .verdict').allTextContents();
    expect(new Set(verdicts)).toEqual(new Set(['DROPPED']));
    expect(await page.getByRole('link', { name: 'Export NDJSON' }).getAttribute('href')).toContain(
      'format=ndjson',
    );
    expect(await page.getByRole('link', { name: 'Export CSV' }).getAttribute('href')).toContain(
      'verdict=DROPPED',
    );
    // Keyboard: focus the grid, move down, open the drawer.
    await page.locator('.vt-scroll').focus();
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('.drawer pre.json').textContent()).toContain('"verdict": "DROPPED"');
    expect(await page.locator('.drawer table.fields tbody tr').count()).toBeGreaterThan(10);
    await shot(page, 'flows-drawer');
    await page.keyboard.press('Escape');
    await page.getByLabel('Value').fill('port=99999');
    await page.getByRole('button', { name: 'Add filter' }).click();
    await expect
      .poll(() => page.locator('.filter-bar .field-error').textContent())
      .toMatch(/\bport: invalid port "99999"/);
    expect(await page.locator('.chip.invalid').getAttribute('data-param')).toBe('port');
    await shot(page, 'flows-invalid');
    await page.close();
  });

  it('investigate names the account that held the address, and the timeline draws its bands and flows', async () => {
    const { ip, owner, previous } = h.backend.reused;
    const since = iso(h.backend.reused.reuseAtMs - 3_600_000);
    const until = iso(Date.now() + 60_000);
    const page = await openPage(1280);
    await goto(page, `#/investigate?indicator=${ip}&since=${since}&until=${until}`, 'investigate');
    await page.getByRole('button', { name: 'Investigate' }).click();
    await page.waitForSelector('svg.timeline');
    const first = page.locator('table.accounts tbody tr').first();
    expect(await first.getAttribute('data-account')).toBe(owner.account);
    expect(await first.getAttribute('data-tenant')).toBe(owner.tenant);
    // Expected marks: the matching flows the API returns; expected bands: owner intervals in the window.
    const flows = await api<{ count: number }>(
      `/api/v1/flows?ip=${ip}&since=${since}&until=${until}&limit=2000`,
    );
    const who = await api<{
      owner: { start: string } | null;
      previous: { start: string } | null;
      next: { start: string } | null;
    }>(`/api/v1/attribution?ip=${ip}&at=${since}`);
    const bands = [who.previous, who.owner, who.next].filter(
      (o) => o?.start && Date.parse(o.start) < Date.parse(until),
    ).length;
    expect(bands).toBe(2);
    const svg = page.locator('svg.timeline');
    expect(await svg.locator('circle.mark').count()).toBe(flows.count);
    expect(await svg.locator('rect.band').count()).toBe(bands);
    const labels = await svg.locator('.band-group text').allTextContents();
    expect(labels.join(' ')).toContain(`${previous.tenant}/${previous.account}`);
    expect(await page.locator('.vt').getAttribute('data-row-count')).toBe(String(flows.count));
    const caseId = await page.getByTestId('case-id').textContent();
    expect(await page.getByRole('link', { name: 'Case CSV' }).getAttribute('href')).toContain(
      `/api/v1/investigations/${caseId}/export?format=csv`,
    );
    await shot(page, 'investigate');
    await page.close();
  });

  it('an abuse report entered through the form (SNAT address, victim, port, ±2 min) ranks the planted account first', async () => {
    const { ip, owner } = h.backend.reused;
    const f = await snatScanFlow(ip);
    const reportAt = new Date(Date.parse(f['time']) + 45_000).toISOString().slice(0, 19);
    const page = await openPage(1280);
    await goto(page, '#/investigate', 'investigate');
    await page.getByLabel('Our address', { exact: true }).fill(f['IP']['source_xlated']);
    await page.getByLabel('Their address').fill(f['IP']['destination']);
    await page
      .locator('form.investigate-form')
      .getByLabel('Port', { exact: true })
      .fill(String(f['l4']['TCP']['destination_port']));
    await page.locator('form.investigate-form').getByLabel('Protocol', { exact: true }).selectOption('tcp');
    await page.getByLabel('When').selectOption('at');
    await page.getByLabel('Reported at (UTC)').fill(reportAt);
    await page.getByLabel('± seconds').fill('120');
    await page.getByRole('button', { name: 'Investigate' }).click();
    await page.waitForSelector('table.accounts tbody tr.account-row');
    const first = page.locator('table.accounts tbody tr.account-row').first();
    expect(await first.getAttribute('data-rank')).toBe('1');
    expect(await first.getAttribute('data-tenant')).toBe(owner.tenant);
    expect(await first.getAttribute('data-account')).toBe(owner.account);
    expect(Number(await first.getByTestId('full-matches').textContent())).toBeGreaterThan(0);
    // The account's allocations are listed under it; the link keeps the report in the URL.
    expect(await page.locator('table.accounts tr.alloc-row').count()).toBeGreaterThan(0);
    expect(await page.evaluate(() => location.hash)).toContain('remote=');
    await shot(page, 'investigate-report');

    // Pivots from the investigation view: the account's activity ±1 h lists the victim…
    const caseHash = await page.evaluate(() => location.hash);
    await openPivot(first.locator('.pivot[data-pivot-kind="account"]'));
    await first.getByRole('menuitem', { name: 'Activity ±1 h' }).click();
    await page.waitForSelector('main[data-page="activity"][data-ready="true"]');
    expect(
      await page.locator(`table.peers tr[data-peer="${f['IP']['destination']}"]`).count(),
    ).toBeGreaterThan(0);
    // …the allocation filters the flows…
    await goto(page, caseHash, 'investigate');
    await page.waitForSelector('table.accounts tr.alloc-row .pivot[data-pivot-kind="alloc"]');
    const alloc = page.locator('table.accounts tr.alloc-row .pivot[data-pivot-kind="alloc"]').first();
    await openPivot(alloc);
    await alloc.getByRole('menuitem', { name: 'Filter flows by it' }).click();
    await page.waitForSelector('main[data-page="flows"][data-ready="true"]');
    expect(await page.evaluate(() => location.hash)).toContain('alloc=');
    await expect.poll(() => page.locator('.vt').getAttribute('data-row-count')).not.toBe('0');
    // …and a sample flow's address says who held it at that instant.
    await goto(page, caseHash, 'investigate');
    await page.locator('table.accounts tr.account-row').first().locator('details > summary').click();
    const src = page.locator(`table.accounts .pivot[data-pivot-kind="ip"][data-pivot-value="${ip}"]`).first();
    await openPivot(src);
    await src.getByRole('menuitem', { name: 'Who held it at this instant' }).click();
    await page.waitForSelector('main[data-page="who"][data-ready="true"]');
    const held = page.locator('table.holders tr[data-holder="owner"]');
    expect(await held.getAttribute('data-tenant')).toBe(owner.tenant);
    expect(await held.getAttribute('data-account')).toBe(owner.account);
    await shot(page, 'who');
    // The case is listed among the saved cases, open.
    const caseId = /[?&]id=([0-9a-f-]{36})/.exec(caseHash)?.[1];
    expect(caseId).toBeDefined();
    await goto(page, '#/cases?status=open', 'cases');
    expect(await page.locator(`table.cases tr[data-case="${caseId}"]`).getAttribute('data-status')).toBe(
      'open',
    );
    await page.close();
  });

  it('the flow drawer turns owners and addresses into pivots: activity, filter, who held', async () => {
    const { ip, owner } = h.backend.reused;
    const since = iso(h.backend.demoSinceMs - 60_000);
    const page = await openPage(1280);
    await goto(page, `#/flows?from-ip=${ip}&since=${since}&until=${iso(Date.now() + 60_000)}`, 'flows');
    await expect.poll(() => page.locator('.vt').getAttribute('data-row-count')).not.toBe('0');
    await page.locator('.vt-scroll').focus();
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    const card = page.locator('.drawer .owner-card').first();
    await card.locator(`.pivot[data-pivot-kind="ip"][data-pivot-value="${ip}"]`).waitFor();
    // The drawer's kinds: address, tenant, account, job, allocation.
    const kinds = await card
      .locator('.pivot')
      .evaluateAll((els) => els.map((e) => e.getAttribute('data-pivot-kind')));
    expect(kinds).toEqual(['ip', 'tenant', 'account', 'job', 'alloc']);
    const flowsHash = await page.evaluate(() => location.hash);
    const account = card.locator('.pivot[data-pivot-kind="account"]');
    await openPivot(account);
    await account.getByRole('menuitem', { name: 'Activity ±1 h' }).click();
    await page.waitForSelector('main[data-page="activity"][data-ready="true"]');
    expect(await page.locator('table.peers tbody tr').count()).toBeGreaterThan(0);
    await goto(page, flowsHash, 'flows');
    await expect.poll(() => page.locator('.vt').getAttribute('data-row-count')).not.toBe('0');
    await page.locator('.vt-scroll').focus();
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    const addr = page.locator(`.drawer .owner-card .pivot[data-pivot-kind="ip"][data-pivot-value="${ip}"]`);
    await openPivot(addr);
    await addr.getByRole('menuitem', { name: 'Who held it at this instant' }).click();
    await page.waitForSelector('main[data-page="who"][data-ready="true"]');
    expect(await page.locator('table.holders tr[data-holder="owner"]').getAttribute('data-account')).toBe(
      owner.account,
    );
    // The tenant pivot filters the flows by the tenant.
    await goto(page, flowsHash, 'flows');
    await expect.poll(() => page.locator('.vt').getAttribute('data-row-count')).not.toBe('0');
    await page.locator('.vt-scroll').focus();
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    const tenant = page.locator('.drawer .owner-card .pivot[data-pivot-kind="tenant"]').first();
    await openPivot(tenant);
    await tenant.getByRole('menuitem', { name: 'Filter flows by it' }).click();
    await expect.poll(() => page.evaluate(() => location.hash)).toContain(`tenant=${owner.tenant}`);
    await page.close();
  });

  it('flows table cells are pivot menus (address, allocation, job, account, tenant): who held, exclude, filter, activity, investigate', async () => {
    const { ip, owner } = h.backend.reused;
    const since = iso(h.backend.demoSinceMs - 60_000);
    const until = iso(Date.now() + 60_000);
    const page = await openPage(1280);
    await goto(page, `#/flows?from-ip=${ip}&since=${since}&until=${until}`, 'flows');
    await expect.poll(() => rowCount(page)).not.toBe('0');
    const row = page.locator('.vt-body .vt-row').first();
    const kinds = await checkPivotMenus(page, row, 1);
    for (const k of ['ip', 'alloc', 'job', 'account', 'tenant']) expect(kinds.has(k), k).toBe(true);
    // Opening a pivot in a row does not open the row's drawer.
    expect(await page.locator('.drawer').isHidden()).toBe(true);
    const src = row.locator(`.pivot[data-pivot-kind="ip"][data-pivot-value="${ip}"]`).first();
    await (await openPivot(src)).getByRole('menuitem', { name: 'Who held it at this instant' }).click();
    await page.waitForSelector('main[data-page="who"][data-ready="true"]');
    expect(await page.locator('table.holders tr[data-holder="owner"]').getAttribute('data-account')).toBe(
      owner.account,
    );

    // Exclude an account from the whole window: the table is the API's answer without it.
    await goto(page, `#/flows?since=${since}&until=${until}`, 'flows');
    await expect.poll(() => rowCount(page)).not.toBe('0');
    const ownerPivot = page.locator('.vt-body .vt-row .pivot[data-pivot-kind="owner"]').first();
    let menu = await openPivot(ownerPivot);
    const account = (await menu
      .locator('[role="group"][data-pivot-kind="account"]')
      .getAttribute('aria-label'))!.replace(/^account /, '');
    await menu
      .locator('[role="group"][data-pivot-kind="account"]')
      .getByRole('menuitem', { name: 'Exclude it' })
      .click();
    await expect.poll(() => page.evaluate(() => location.hash)).toContain(`not-account=${account}`);
    expect(await page.evaluate(() => location.hash)).toContain(`since=${encodeURIComponent(since)}`);
    const rest = await flowsMatchApi(page);
    expect(rest.count).toBeGreaterThan(0);
    expect(noEndOwnedBy(rest.flows, 'account', account)).toBe(true);
    await expect.poll(() => page.locator('.chip[data-param="not-account"]').count()).toBe(1);

    // An allocation filters the flows to its own.
    menu = await openPivot(page.locator('.vt-body .vt-row .pivot[data-pivot-kind="owner"]').first());
    const allocGroup = menu.locator('[role="group"][data-pivot-kind="alloc"]');
    const alloc = (await allocGroup.getAttribute('aria-label'))!.replace(/^allocation /, '');
    await allocGroup.getByRole('menuitem', { name: 'Filter flows by it' }).click();
    await expect.poll(() => page.evaluate(() => location.hash)).toContain(`alloc=${alloc}`);
    const mine = await flowsMatchApi(page);
    expect(mine.count).toBeGreaterThan(0);
    expect(
      mine.flows.every((l) => ['source', 'destination'].some((e) => l.attribution?.[e]?.alloc_id === alloc)),
    ).toBe(true);

    // A job's activity is its flows ±1 h; a tenant's activity lists its peers.
    menu = await openPivot(page.locator('.vt-body .vt-row .pivot[data-pivot-kind="owner"]').first());
    await menu
      .locator('[role="group"][data-pivot-kind="job"]')
      .getByRole('menuitem', { name: 'Activity ±1 h' })
      .click();
    await expect.poll(() => page.evaluate(() => location.hash)).toContain('job=');
    expect((await flowsMatchApi(page)).count).toBeGreaterThan(0);
    menu = await openPivot(page.locator('.vt-body .vt-row .pivot[data-pivot-kind="owner"]').first());
    await menu
      .locator('[role="group"][data-pivot-kind="tenant"]')
      .getByRole('menuitem', { name: 'Activity ±1 h' })
      .click();
    await page.waitForSelector('main[data-page="activity"][data-ready="true"]');
    expect(await page.locator('table.peers tbody tr').count()).toBeGreaterThan(0);

    // An address opens an investigation of it.
    await goto(page, `#/flows?from-ip=${ip}&since=${since}&until=${until}`, 'flows');
    await expect.poll(() => rowCount(page)).not.toBe('0');
    menu = await openPivot(
      page.locator(`.vt-body .vt-row .pivot[data-pivot-kind="ip"][data-pivot-value="${ip}"]`).first(),
    );
    await menu.getByRole('menuitem', { name: 'Investigate it' }).click();
    await page.waitForSelector('main[data-page="investigate"][data-ready="true"]');
    expect(await page.getByLabel('Our address', { exact: true }).inputValue()).toBe(ip);
    await shot(page, 'investigate-from-pivot');
    await page.close();
  });

  it('the drawer pivots exclude from the query shown and investigate an allocation', async () => {
    const { ip } = h.backend.reused;
    const since = iso(h.backend.demoSinceMs - 60_000);
    const until = iso(Date.now() + 60_000);
    const page = await openPage(1280);
    await goto(page, `#/flows?from-ip=${ip}&since=${since}&until=${until}`, 'flows');
    await expect.poll(() => rowCount(page)).not.toBe('0');
    await page.locator('.vt-scroll').focus();
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    const drawer = page.locator('.drawer');
    await drawer.locator('.owner-card .pivot').first().waitFor();
    const kinds = await checkPivotMenus(page, drawer.locator('.owner-card').first(), 1);
    expect([...kinds].sort()).toEqual(['account', 'alloc', 'ip', 'job', 'tenant']);
    // The destination address is excluded from the flows shown (from-ip stays).
    const dst = drawer.locator('.owner-card').nth(1).locator('.pivot[data-pivot-kind="ip"]');
    const dstIp = (await dst.getAttribute('data-pivot-value'))!;
    await (await openPivot(dst)).getByRole('menuitem', { name: 'Exclude it' }).click();
    await expect.poll(() => page.evaluate(() => location.hash)).toContain(`not-ip=${dstIp}`);
    expect(await page.evaluate(() => location.hash)).toContain(`from-ip=${ip}`);
    const rest = await flowsMatchApi(page);
    expect(rest.count).toBeGreaterThan(0);
    expect(
      (rest.flows as unknown as { flow: { IP?: Record<string, string> } }[]).some(
        (l) => l.flow.IP?.['destination'] === dstIp || l.flow.IP?.['source'] === dstIp,
      ),
    ).toBe(false);
    // The allocation's "investigate it" is its activity.
    await page.locator('.vt-scroll').focus();
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    const alloc = drawer.locator('.owner-card').first().locator('.pivot[data-pivot-kind="alloc"]');
    const allocId = (await alloc.getAttribute('data-pivot-value'))!;
    await (await openPivot(alloc)).getByRole('menuitem', { name: 'Investigate it' }).click();
    await page.waitForSelector('main[data-page="activity"][data-ready="true"]');
    expect(await page.evaluate(() => location.hash)).toContain(`alloc=${allocId}`);
    expect(await page.locator('table.peers tbody tr').count()).toBeGreaterThan(0);
    await page.close();
  });

  it('the investigation view: every pivot has its menu; exclude narrows the case flows, job activity, table cells filter', async () => {
    const { ip, owner } = h.backend.reused;
    const since = iso(h.backend.demoSinceMs - 60_000);
    const until = iso(Date.now() + 60_000);
    const page = await openPage(1280);
    await goto(page, `#/investigate?indicator=${ip}&since=${since}&until=${until}`, 'investigate');
    await page.getByRole('button', { name: 'Investigate' }).click();
    await page.waitForSelector('table.accounts tbody tr.account-row');
    await page.locator('table.accounts tr.account-row').first().locator('details > summary').click();
    const kinds = await checkPivotMenus(page, page.locator('table.accounts'), 1);
    expect([...kinds].sort()).toEqual(['account', 'alloc', 'ip', 'job', 'tenant']);
    await expect.poll(() => rowCount(page)).not.toBe('0');
    const cellKinds = await checkPivotMenus(page, page.locator('.vt-body .vt-row').first(), 1);
    for (const k of ['ip', 'alloc', 'job', 'account', 'tenant']) expect(cellKinds.has(k), k).toBe(true);
    const caseHash = await page.evaluate(() => location.hash);
    // Exclude the case's own tenant from the case's flows: none of them is left.
    const tenant = page
      .locator('table.accounts tr.account-row')
      .first()
      .locator('.pivot[data-pivot-kind="tenant"]');
    await (await openPivot(tenant)).getByRole('menuitem', { name: 'Exclude it' }).click();
    await expect.poll(() => page.evaluate(() => location.hash)).toContain(`not-tenant=${owner.tenant}`);
    expect(await page.evaluate(() => location.hash)).toContain(`ip=${ip}`);
    const rest = await flowsMatchApi(page);
    expect(noEndOwnedBy(rest.flows, 'tenant', owner.tenant)).toBe(true);
    // A job's activity.
    await goto(page, caseHash, 'investigate');
    const job = page.locator('table.accounts tr.alloc-row .pivot[data-pivot-kind="job"]').first();
    await job.waitFor();
    const jobName = (await job.getAttribute('data-pivot-value'))!;
    await (await openPivot(job)).getByRole('menuitem', { name: 'Activity ±1 h' }).click();
    await expect.poll(() => page.evaluate(() => location.hash)).toContain(`job=${jobName}`);
    expect((await flowsMatchApi(page)).count).toBeGreaterThan(0);
    // A matching flow's owner, from the table cell: filter the flows by its account.
    await goto(page, caseHash, 'investigate');
    await expect.poll(() => rowCount(page)).not.toBe('0');
    const menu = await openPivot(page.locator('.vt-body .vt-row .pivot[data-pivot-kind="owner"]').first());
    await menu
      .locator('[role="group"][data-pivot-kind="account"]')
      .getByRole('menuitem', { name: 'Filter flows by it' })
      .click();
    await expect.poll(() => page.evaluate(() => location.hash)).toContain('account=');
    expect((await flowsMatchApi(page)).count).toBeGreaterThan(0);
    await page.close();
  });

  it('incident views: the Events link opens the evidence_url; owners and addresses are pivots', async () => {
    type Inc = {
      id: string;
      rule: string;
      tenant: string;
      account: string;
      alloc_id: string;
      evidence_url: string;
      addresses?: { destinations?: string[] };
    };
    const list = await api<{ incidents: Inc[] }>('/api/v1/alerts/incidents?limit=200');
    // One at a time: the API limits requests in flight per user.
    let inc: Inc | undefined;
    for (const i of list.incidents.filter((x) => x.alloc_id)) {
      const one = await api<Inc>(`/api/v1/alerts/incidents/${i.id}`);
      if ((one.addresses?.destinations ?? []).length > 0 && one.evidence_url) {
        inc = one;
        break;
      }
    }
    if (!inc) throw new Error('no incident with an allocation and targets');
    expect(inc).toBeDefined();
    const page = await openPage(1280);
    const listHash = `#/alerts?rule=${inc.rule}&tenant=${inc.tenant}&incident=${inc.id}`;
    await goto(page, listHash, 'alerts');
    const row = page.locator(`tr#incident-${inc.id}`);
    await row.waitFor();
    const evidence = `#/flows?${inc.evidence_url.slice(inc.evidence_url.indexOf('?') + 1)}`;
    // The Events count opens the incident's evidence, not all of the account's flows.
    expect(await row.locator('a.num').getAttribute('href')).toBe(evidence);
    const rowKinds = await checkPivotMenus(page, row, 1);
    expect([...rowKinds].sort()).toEqual(['account', 'alloc', 'tenant']);
    await row.locator('a.num').click();
    await expect.poll(() => page.evaluate(() => location.hash)).toBe(evidence);
    const ev = await flowsMatchApi(page);
    expect(ev.count).toBeGreaterThan(0);

    // The incident detail: every owner and address is a pivot.
    await goto(page, listHash, 'alerts');
    const detail = page.getByTestId('incident-detail');
    await detail.waitFor();
    const kinds = await checkPivotMenus(page, detail, 1);
    expect([...kinds].sort()).toEqual(['account', 'alloc', 'ip', 'job', 'tenant']);
    // Exclude the allocation from the incident's evidence.
    await (await openPivot(detail.locator('.pivot[data-pivot-kind="alloc"]').first()))
      .getByRole('menuitem', { name: 'Exclude it' })
      .click();
    await expect.poll(() => page.evaluate(() => location.hash)).toContain(`not-alloc=${inc.alloc_id}`);
    const q = new URLSearchParams(evidence.slice(evidence.indexOf('?') + 1));
    expect(await page.evaluate(() => location.hash)).toContain(
      `since=${encodeURIComponent(q.get('since')!)}`,
    );
    const rest = await flowsMatchApi(page);
    expect(noEndOwnedBy(rest.flows, 'alloc_id', inc.alloc_id)).toBe(true);
    // A target address: who held it; the account: its activity; the tenant: its flows.
    await goto(page, listHash, 'alerts');
    const target = inc.addresses!.destinations![0]!;
    await (
      await openPivot(detail.locator(`.pivot[data-pivot-kind="ip"][data-pivot-value="${target}"]`).first())
    )
      .getByRole('menuitem', { name: 'Who held it at this instant' })
      .click();
    await page.waitForSelector('main[data-page="who"][data-ready="true"]');
    expect(await page.evaluate(() => location.hash)).toContain(`ip=${target}`);
    await goto(page, listHash, 'alerts');
    await (await openPivot(detail.locator('.pivot[data-pivot-kind="account"]').first()))
      .getByRole('menuitem', { name: 'Activity ±1 h' })
      .click();
    await page.waitForSelector('main[data-page="activity"][data-ready="true"]');
    expect(await page.evaluate(() => location.hash)).toContain(`account=${inc.account}`);
    await goto(page, listHash, 'alerts');
    await (await openPivot(row.locator('.pivot[data-pivot-kind="tenant"]')))
      .getByRole('menuitem', { name: 'Filter flows by it' })
      .click();
    await expect.poll(() => page.evaluate(() => location.hash)).toContain(`tenant=${inc.tenant}`);
    expect((await flowsMatchApi(page)).count).toBeGreaterThan(0);
    await goto(page, listHash, 'alerts');
    await (await openPivot(detail.locator('.pivot[data-pivot-kind="ip"]').first()))
      .getByRole('menuitem', { name: 'Investigate it' })
      .click();
    await page.waitForSelector('main[data-page="investigate"][data-ready="true"]');
    await shot(page, 'alerts-incident-pivots');
    await page.close();
  });

  it('cases: edit status, assignee, linked incidents and notes from the case view; the list filters by mine, status and tenant; changes are audited', async () => {
    const { ip, owner } = h.backend.reused;
    const since = iso(h.backend.demoSinceMs - 60_000);
    const until = iso(Date.now() + 60_000);
    const created = await api<{ id: string }>('/api/v1/investigations', {
      method: 'POST',
      body: JSON.stringify({ indicator: ip, since, until }),
    });
    const incidents = await api<{ incidents: { id: string }[] }>('/api/v1/alerts/incidents?limit=5');
    const incident = incidents.incidents[0]!.id;
    const page = await openPage(1280);
    await goto(page, '#/cases?status=open', 'cases');
    const row = page.locator(`table.cases tr[data-case="${created.id}"]`);
    expect(await row.getAttribute('data-status')).toBe('open');
    await row.getByRole('link').first().click();
    await page.waitForSelector('main[data-page="investigate"][data-ready="true"]');
    const panel = page.getByTestId('case-panel');
    await panel.waitFor();
    expect(await panel.getAttribute('data-status')).toBe('open');
    // A bad incident id: the API's message, at the field it names.
    await panel.getByLabel('Linked incidents').fill('x'.repeat(200));
    await panel.getByRole('button', { name: 'Save case' }).click();
    await expect
      .poll(() => panel.locator('form[aria-label="Case state"] .field-error').textContent())
      .toMatch(/^linked_incidents: /);
    expect(await panel.getByLabel('Linked incidents').getAttribute('aria-invalid')).toBe('true');
    // Escalate, assign to me, link an incident; add a note.
    await panel.getByLabel('Status').selectOption('escalated');
    await panel.getByRole('button', { name: 'Assign to me' }).click();
    await panel.getByLabel('Linked incidents').fill(incident);
    await panel.getByRole('button', { name: 'Save case' }).click();
    await expect.poll(() => panel.getAttribute('data-status')).toBe('escalated');
    expect(await panel.getAttribute('data-assignee')).toBe('ui-admin');
    expect(await panel.locator('.linked-incidents a').getAttribute('href')).toBe(
      `#/alerts?incident=${incident}`,
    );
    await expect.poll(() => panel.getByTestId('case-updated').textContent()).toContain('ui-admin');
    await panel.getByLabel('New note').fill('Upstream provider told; allocation stopped.');
    await panel.getByRole('button', { name: 'Add note' }).click();
    await expect
      .poll(() => panel.getByTestId('case-notes').textContent())
      .toContain('Upstream provider told; allocation stopped.');
    await shot(page, 'case-edit');
    // Saved: a fresh load shows the same state.
    await goto(page, `#/investigate?id=${created.id}`, 'investigate');
    await page.getByTestId('case-panel').waitFor();
    expect(await page.getByTestId('case-panel').getByLabel('Status').inputValue()).toBe('escalated');
    expect(await page.getByTestId('case-notes').locator('li.note-item').count()).toBe(1);
    // The list, through its filter form: escalated + mine; then by tenant.
    await goto(page, '#/cases', 'cases');
    await page.getByLabel('Mine only').check();
    await page.getByLabel('Status').selectOption('escalated');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForSelector('main[data-page="cases"][data-ready="true"]');
    await expect.poll(() => page.evaluate(() => location.hash)).toContain('status=escalated');
    const listed = page.locator(`table.cases tr[data-case="${created.id}"]`);
    await listed.waitFor();
    expect(await listed.getAttribute('data-status')).toBe('escalated');
    expect(await listed.textContent()).toContain('ui-admin');
    await goto(page, '#/cases?status=open', 'cases');
    expect(await page.locator(`table.cases tr[data-case="${created.id}"]`).count()).toBe(0);
    await goto(page, `#/cases?tenant=${owner.tenant}`, 'cases');
    expect(await page.locator(`table.cases tr[data-case="${created.id}"]`).count()).toBe(1);
    await goto(page, '#/cases?tenant=no-such-tenant', 'cases');
    expect(await page.locator(`table.cases tr[data-case="${created.id}"]`).count()).toBe(0);
    // Each change is in the audit log, by the signed-in user.
    await expect
      .poll(
        async () => {
          const a = await api<{
            entries: { action: string; outcome: string; token_name: string; parameters: string }[];
          }>('/api/v1/audit?since=-1h&limit=1000');
          return a.entries
            .filter(
              (e) => ['case.update', 'case.note'].includes(e.action) && e.parameters.includes(created.id),
            )
            .map((e) => `${e.action}:${e.outcome}${e.token_name === 'ui-admin' ? '' : ` by ${e.token_name}`}`)
            .sort();
        },
        { timeout: 60_000 },
      )
      .toEqual(['case.note:ok', 'case.update:invalid', 'case.update:ok']);
    await page.close();
  });

  it('a report pasted or uploaded (X-ARF) opens the prefilled case; a malformed one names the field', async () => {
    const { ip, owner } = h.backend.reused;
    const f = await snatScanFlow(ip);
    const xarf = (source: string) =>
      [
        'Reported-From: abuse@victim.example',
        'Category: abuse',
        'Report-Type: login-attack',
        'Service: ssh',
        "Version: '0.2'",
        `Date: '${new Date(Date.parse(f['time']) + 45_000).toISOString()}'`,
        `Source: ${source}`,
        'Source-Type: ipv4',
        `Destination: ${f['IP']['destination']}`,
        `Port: ${f['l4']['TCP']['destination_port']}`,
        '',
      ].join('\n');
    const page = await openPage(1280);
    await goto(page, '#/investigate', 'investigate');
    await page.getByRole('link', { name: 'Import an abuse report (X-ARF, ARF)' }).click();
    await page.waitForSelector('main[data-page="report"][data-ready="true"]');
    await page.getByLabel('Report', { exact: true }).fill(xarf('not-an-address'));
    await page.getByRole('button', { name: 'Import report' }).click();
    const err = page.getByTestId('report-error');
    await expect.poll(() => err.textContent()).toContain('Source: not an IP address');
    expect(await err.getAttribute('data-param')).toBe('Source');
    await shot(page, 'report-error');
    await page.getByLabel('Upload a report file').setInputFiles({
      name: 'report.yaml',
      mimeType: 'text/yaml',
      buffer: Buffer.from(xarf(f['IP']['source_xlated'])),
    });
    await expect.poll(() => page.getByLabel('Report', { exact: true }).inputValue()).toContain('Source: ');
    await page.getByRole('button', { name: 'Import report' }).click();
    await page.waitForSelector('main[data-page="investigate"][data-ready="true"]');
    await expect.poll(() => page.evaluate(() => location.hash)).toMatch(/[?&]id=[0-9a-f-]{36}/);
    const first = page.locator('table.accounts tbody tr.account-row').first();
    await first.waitFor();
    expect(await first.getAttribute('data-rank')).toBe('1');
    expect(await first.getAttribute('data-tenant')).toBe(owner.tenant);
    expect(await first.getAttribute('data-account')).toBe(owner.account);
    // The report is kept with the case.
    const kept = page.getByTestId('case-report');
    expect(await kept.count()).toBe(1);
    expect(await kept.locator('pre').textContent()).toContain(`Source: ${f['IP']['source_xlated']}`);
    await shot(page, 'report-case');
    await page.close();
  });

  it('tenant view shows the summary and a service map with one mark per topology edge and node', async () => {
    const { owner } = h.backend.reused;
    const since = iso(h.backend.demoSinceMs - 60_000);
    const until = iso(Date.now() + 60_000);
    const page = await openPage(1280);
    await goto(
      page,
      `#/tenants/${owner.tenant}?range=custom&since=${since}&until=${until}&group=none`,
      'tenants',
    );
    const topo = await api<{ nodes: unknown[]; edges: { verdicts: Record<string, number> }[] }>(
      `/api/v1/topology?tenant=${owner.tenant}&edges=150&since=${since}&until=${until}`,
    );
    expect(topo.edges.length).toBeGreaterThan(2);
    const svg = page.locator('svg.service-map');
    await svg.waitFor();
    expect(await svg.locator('line.link').count()).toBe(topo.edges.length);
    expect(await svg.locator('g.node').count()).toBe(topo.nodes.length);
    expect(await svg.locator('line.link.dropped').count()).toBe(
      topo.edges.filter((e) => (e.verdicts['DROPPED'] ?? 0) > 0).length,
    );
    const summary = await api<{ flows: number }>(
      `/api/v1/tenants/${owner.tenant}/summary?since=${since}&until=${until}`,
    );
    await expect
      .poll(() => page.getByTestId('tenant-cards').locator('a.v').first().textContent())
      .toBe(summary.flows.toLocaleString('en-US'));
    await shot(page, 'tenant');
    await page.close();
  });

  it('alerts page lists the rules, the incidents the demo abuse raised, and the deliveries', async () => {
    const incidents = await api<{ incidents: { rule: string }[] }>('/api/v1/alerts/incidents?limit=200');
    const rules = await api<{ rules: unknown[] }>('/api/v1/alerts/rules');
    expect(incidents.incidents.length).toBeGreaterThan(0);
    const page = await openPage(1280);
    await goto(page, '#/alerts', 'alerts');
    await expect
      .poll(() => page.getByTestId('incidents').locator('tbody tr').count())
      .toBe(Math.min(25, incidents.incidents.length));
    const shown = await page.getByTestId('incidents').locator('tbody th').allTextContents();
    expect(new Set(shown)).toEqual(new Set(incidents.incidents.slice(0, 25).map((i) => i.rule)));
    expect(await page.getByTestId('rules').locator('tbody tr').count()).toBe(rules.rules.length);
    await shot(page, 'alerts');
    await page.close();
  });
});

import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testTokens } from './backend.ts';
import { goto, type Harness, iso, shot, startHarness } from './harness.ts';

let h: Harness;
const api = <T>(p: string, init?: RequestInit) => h.api<T>(p, init);
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
    await expect.poll(() => page.locator('.filter-bar .field-error').textContent()).toMatch(/^port:/);
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
    // The planted address scan as the victim saw it: from the node's post-SNAT address.
    const since = iso(h.backend.demoSinceMs - 60_000);
    const seen = await api<{ flows: { flow: Record<string, any> }[] }>(
      `/api/v1/flows?from-ip=${ip}&to-ip=198.51.100.0/24&to-ip=203.0.113.0/24&since=${since}&until=now&limit=50&order=oldest`,
    );
    const f = seen.flows.map((l) => l.flow).find((x) => x['IP']?.['source_xlated'] && x['l4']?.['TCP'])!;
    expect(f).toBeDefined();
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
    await first.locator('details.pivot[data-pivot-kind="account"] > summary').click();
    await first.getByRole('menuitem', { name: 'Activity ±1 h' }).click();
    await page.waitForSelector('main[data-page="activity"][data-ready="true"]');
    expect(
      await page.locator(`table.peers tr[data-peer="${f['IP']['destination']}"]`).count(),
    ).toBeGreaterThan(0);
    // …the allocation filters the flows…
    await goto(page, caseHash, 'investigate');
    await page.waitForSelector('table.accounts tr.alloc-row details.pivot[data-pivot-kind="alloc"]');
    const alloc = page.locator('table.accounts tr.alloc-row details.pivot[data-pivot-kind="alloc"]').first();
    await alloc.locator('summary').click();
    await alloc.getByRole('menuitem', { name: 'Filter flows by it' }).click();
    await page.waitForSelector('main[data-page="flows"][data-ready="true"]');
    expect(await page.evaluate(() => location.hash)).toContain('alloc=');
    await expect.poll(() => page.locator('.vt').getAttribute('data-row-count')).not.toBe('0');
    // …and a sample flow's address says who held it at that instant.
    await goto(page, caseHash, 'investigate');
    await page
      .locator('table.accounts tr.account-row')
      .first()
      .locator('details:not(.pivot) > summary')
      .click();
    const src = page
      .locator(`table.accounts details.pivot[data-pivot-kind="ip"][data-pivot-value="${ip}"]`)
      .first();
    await src.locator('summary').click();
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
    await card.locator(`details.pivot[data-pivot-kind="ip"][data-pivot-value="${ip}"]`).waitFor();
    // The drawer's kinds: address, tenant, account, job, allocation.
    const kinds = await card
      .locator('details.pivot')
      .evaluateAll((els) => els.map((e) => e.getAttribute('data-pivot-kind')));
    expect(kinds).toEqual(['ip', 'tenant', 'account', 'job', 'alloc']);
    const flowsHash = await page.evaluate(() => location.hash);
    const account = card.locator('details.pivot[data-pivot-kind="account"]');
    await account.locator('summary').click();
    await account.getByRole('menuitem', { name: 'Activity ±1 h' }).click();
    await page.waitForSelector('main[data-page="activity"][data-ready="true"]');
    expect(await page.locator('table.peers tbody tr').count()).toBeGreaterThan(0);
    await goto(page, flowsHash, 'flows');
    await expect.poll(() => page.locator('.vt').getAttribute('data-row-count')).not.toBe('0');
    await page.locator('.vt-scroll').focus();
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    const addr = page.locator(
      `.drawer .owner-card details.pivot[data-pivot-kind="ip"][data-pivot-value="${ip}"]`,
    );
    await addr.locator('summary').click();
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
    const tenant = page.locator('.drawer .owner-card details.pivot[data-pivot-kind="tenant"]').first();
    await tenant.locator('summary').click();
    await tenant.getByRole('menuitem', { name: 'Filter flows by it' }).click();
    await expect.poll(() => page.evaluate(() => location.hash)).toContain(`tenant=${owner.tenant}`);
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

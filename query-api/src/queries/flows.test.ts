import { describe, expect, it } from 'vitest';
import type { QueryOptions, Store } from '../../../common/clickhouse/index.ts';
import { parseFlowQuery } from '../filters/index.ts';
import { queryFlowPage } from './flows.ts';

const H = 3_600_000_000_000n;
const T0 = 1_796_000_400n * 1_000_000_000n; // an hour boundary
const admin = { name: 'admin', role: 'admin' as const };

/** A row as the page statement returns it (only what queryFlowPage looks at). */
const row = (i: number, certain: number) => ({
  time_ns: String(T0 + H / 2n - BigInt(i) * 1_000_000_000n),
  id_hex: i.toString(16).padStart(32, '0'),
  src_ip_text: '::ffff:10.0.0.1',
  certain,
});

/** A store that records each statement and answers from `answer`. */
function recording(answer: (sql: string, n: number) => Record<string, unknown>[]) {
  const seen: { sql: string; opts: QueryOptions }[] = [];
  const store = {
    async query<T>(sql: string, opts: QueryOptions = {}) {
      seen.push({ sql, opts });
      return answer(sql, seen.length) as T[];
    },
  } as unknown as Store;
  return { store, seen };
}

const query = (extra: Record<string, string>) =>
  parseFlowQuery({
    since: new Date(Number((T0 + 10n * 60n * 1_000_000_000n) / 1_000_000n)).toISOString(),
    until: new Date(Number((T0 + H - 60_000_000_000n) / 1_000_000n)).toISOString(),
    ...extra,
  });

describe('query-api > queries > flows page', () => {
  it('a tenant filter selects candidates: one statement, no late-owner resolution, when the stored owners answer', async () => {
    const { store, seen } = recording(() => [row(1, 1), row(2, 1), row(3, 1)]);
    const page = await queryFlowPage({ store, settings: {} }, query({ tenant: 't1', limit: '2' }), admin);
    expect(page.rows.map((r) => r.id_hex)).toEqual([row(1, 1).id_hex, row(2, 1).id_hex]);
    expect(page.nextCursor).toBeDefined();
    expect(seen).toHaveLength(1);
    expect(seen[0]!.sql).toContain('AS certain');
    expect(seen[0]!.sql).not.toContain('late_fid');
    expect(page.rows[0]).not.toHaveProperty('certain');
    // The page is materialized lazily up to its size.
    expect(seen[0]!.opts.settings?.['query_plan_max_limit_for_lazy_materialization']).toBe(10);
  });

  it('checks the uncertain rows exactly, drops those that fail and reads on after the last candidate', async () => {
    const { store, seen } = recording((_sql, n) => {
      if (n === 1) return [row(1, 1), row(2, 0), row(3, 0)];
      if (n === 2) return [{ id_hex: row(3, 0).id_hex }]; // row 2's late owner is another tenant
      return n === 3 ? [row(4, 1)] : [];
    });
    const page = await queryFlowPage({ store, settings: {} }, query({ tenant: 't1', limit: '2' }), admin);
    expect(page.rows.map((r) => r.id_hex)).toEqual([row(1, 1).id_hex, row(3, 0).id_hex]);
    expect(page.nextCursor).toBeDefined();
    // 1: candidates; 2: the exact clause over rows 2 and 3 only; 3: candidates after row 3.
    expect(seen).toHaveLength(3);
    expect(seen[1]!.sql).toContain('late_fid');
    expect(Object.values(seen[1]!.opts.params ?? {})).toContainEqual([row(2, 0).id_hex, row(3, 0).id_hex]);
    expect(seen[2]!.sql).toContain('AS certain');
    expect(seen[2]!.sql).toMatch(/\(time, flow_id\) </);
  });

  it('reads exactly when an exclusion names an owner (a superset inside NOT would leave flows out)', async () => {
    const { store, seen } = recording(() => []);
    await queryFlowPage({ store, settings: {} }, query({ 'not-tenant': 't1' }), admin);
    expect(seen.length).toBeGreaterThan(0);
    for (const s of seen) expect(s.sql).not.toContain('AS certain');
    expect(seen[0]!.sql).toContain('late_fid');
  });

  it('reads exactly without owner filters (nothing to resolve)', async () => {
    const { store, seen } = recording(() => []);
    await queryFlowPage({ store, settings: {} }, query({ verdict: 'DROPPED' }), admin);
    for (const s of seen) {
      expect(s.sql).not.toContain('AS certain');
      expect(s.sql).not.toContain('late_fid');
    }
  });

  it('leaves out an either-end entry whose source address sent nothing in the range (the index says so)', async () => {
    const { store, seen } = recording((_sql, n) => (n === 1 ? [{ sent: [0, 1] }] : []));
    await queryFlowPage({ store, settings: {} }, query({ ip: '203.0.113.9' }), admin);
    expect(seen).toHaveLength(2);
    expect(seen[0]!.sql).toContain('flows_by_address');
    expect(seen[1]!.sql).toContain('destination_ip =');
    expect(seen[1]!.sql).not.toContain('source_ip =');
  });

  it('reads a single source entry as it is (its own statement reads the index)', async () => {
    const { store, seen } = recording(() => []);
    await queryFlowPage({ store, settings: {} }, query({ 'from-ip': '203.0.113.9' }), admin);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.sql).toContain('FROM flows WHERE');
  });
});

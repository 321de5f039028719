/**
 * Custom alert rules read destination, post-SNAT and either-end address filters through the address
 * index (migrations/0045, common/filter addressLookupSql), as the flows page does, and fire exactly
 * as a scan would: over the real fixture flows, for busy and rare addresses, a prefix, both
 * group-bys and windows on a grid that cuts hours, the findings equal those of the same rule with
 * the index lookup taken out of its SQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { customRuleSchema } from '../../../common/config/alerts.ts';
import { haveFixtures } from '../../../common/testing/fixtures.ts';
import { startTestApi, type TestApi } from '../testing.ts';
import { backfillPlan, evaluateRule } from './evaluator.ts';
import { customRule } from './rules/custom.ts';
import type { Rule } from './rules/index.ts';

/** addressLookupSql's condition, which ends with the upper bound of its hours. */
const lookup =
  /\(toStartOfHour\(time\), source_ip\) IN \(SELECT hour, source_ip FROM flows_by_address WHERE .*? AND hour < fromUnixTimestamp64Nano\(\{\w+:Int64\}, 'UTC'\)\)/g;

/** The same rule, its index lookups replaced by `1` (a scan); counts the lookups it replaced. */
function scanTwin(rule: Rule, replaced: { n: number }): Rule {
  return {
    ...rule,
    query(p, range) {
      const q = rule.query(p, range);
      return {
        ...q,
        sql: q.sql.replace(lookup, () => {
          replaced.n++;
          return '1';
        }),
      };
    },
  };
}

describe.runIf(haveFixtures)('query-api > alerts > custom rules through the address index', () => {
  let api: TestApi;
  let span: { sinceNs: bigint; untilNs: bigint };
  let values: string[];

  beforeAll(async () => {
    api = await startTestApi();
    const [t] = await api.store.query<{ lo: string; hi: string }>(
      'SELECT toString(toUnixTimestamp64Nano(min(time))) AS lo, toString(toUnixTimestamp64Nano(max(time))) AS hi FROM flows',
    );
    span = { sinceNs: BigInt(t!.lo), untilNs: BigInt(t!.hi) + 1n };
    const ranked = (
      await api.store.query<{ a: string }>(
        `SELECT IPv6NumToString(x) AS a FROM flows ARRAY JOIN [destination_ip, source_xlated] AS x
         WHERE x != toIPv6('::') GROUP BY a ORDER BY count() DESC, a`,
      )
    ).map((r) => r.a.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1'));
    const picked = [...new Set([...ranked.slice(0, 5), ...ranked.slice(-3)])];
    const v4 = picked.find((a) => !a.includes(':'));
    values = [...picked, ...(v4 ? [`${v4.split('.').slice(0, 3).join('.')}.0/24`] : [])];
  }, 300_000);
  afterAll(async () => {
    await api?.close();
  });

  it('fires on the same owners, windows and counts as a scan', async () => {
    const replaced = { n: 0 };
    let findings = 0;
    // 10-minute windows every 5 minutes over the whole capture.
    const plan = backfillPlan(span.sinceNs, span.untilNs, 300_000_000_000n);
    for (const v of values) {
      for (const [word, groupBy] of [
        ['to-ip', 'source'],
        ['ip', 'source'],
        ['ip', 'destination'],
        ['snat-ip', 'source'],
      ] as const) {
        const rule = customRule(
          customRuleSchema.parse({
            name: 'addr',
            severity: 'low',
            filter: { [word]: v },
            groupBy,
            windowSeconds: 600,
            threshold: { metric: 'distinct-ports', min: 1 },
          }),
        );
        const opts = { maxSamples: 3 };
        // Samples are any few of a group's flows: which ones depends on the read order.
        const run = async (r: Rule) =>
          (await evaluateRule(api.store, r, plan, opts)).map(({ samples: _, ...f }) => f);
        const indexed = await run(rule);
        const scan = await run(scanTwin(rule, replaced));
        expect(indexed, `${word}=${v} by ${groupBy}`).toEqual(scan);
        findings += indexed.length;
      }
    }
    expect(replaced.n).toBeGreaterThan(0);
    expect(findings).toBeGreaterThan(0);
  }, 900_000);
});

/**
 * Late ownership reaching aggregates (issue 12.4). Flows stored before their owner was known
 * (the Nomad API down, events late, `flowtrail import` before `import-nomad-events`, a Kafka-only
 * collector) keep `none` in their stored owner columns; row pages re-attribute them at query
 * time (reattribute.ts), but alerts, tenant summaries, top, timeseries, topology and the minute
 * rollup read stored columns. This job corrects the store itself, by the one owner rule
 * (owner-rule.ts resolveOwnersSql), for the ends stored as `none` in a time range:
 *
 * 1. record each newly resolvable end in `flow_owner_corrections` (one batch per run; ends
 *    already recorded by an earlier run are skipped, so re-running never counts twice);
 * 2. move the batch's counts in every minute rollup (common/clickhouse/rollups.ts): a -n row with
 *    the flow's stored owner dimensions and a +n row with the corrected ones (SummingMergeTree
 *    folds them);
 * 3. rewrite the stored owner columns of the recorded ends that are still `none` (one
 *    ALTER … UPDATE per side, reading the corrections through a Join-engine table), source
 *    becoming `ownership`.
 *
 * Why rewrite rather than join at query time: every aggregate reader (alert rules, dashboards,
 * the gRPC API) would need the join, and the rollup cannot be joined per flow at all. A mutation
 * touches only the parts holding late flows; its cost is measured in notes/attrib.md.
 * Limits: the address scope of a corrected end is not recomputed (it depends on both ends and
 * the tenancy config); a crash between steps 1 and 2 leaves that batch out of the rollup.
 * @module
 */
import { randomUUID } from 'node:crypto';
import { type RollupTable, rollupDimensions, rollupTables } from '../clickhouse/rollups.ts';
import type { Store } from '../clickhouse/store.ts';
import { endOwnerFields, resolveOwnersSql } from './owner-rule.ts';

/** What a correction run did. */
export interface CorrectionReport {
  batch: string;
  /** Ends newly resolved and recorded, per side. */
  src: number;
  dst: number;
  /** Wall time of the run, ms. */
  ms: number;
}

const sides = ['src', 'dst'] as const;
type Side = (typeof sides)[number];
const ipOf = (side: Side) => (side === 'src' ? 'source_ip' : 'destination_ip');
const ownerCols = endOwnerFields;
const q = (c: string) => (c === 'group' ? '`group`' : c);

/** Time range of a correction run (Unix ns, since inclusive, until exclusive); both optional. */
export interface CorrectionRange {
  sinceNs?: bigint;
  untilNs?: bigint;
}

function rangeSql(range: CorrectionRange): string[] {
  return [
    ...(range.sinceNs !== undefined ? ["time >= fromUnixTimestamp64Nano({since:Int64}, 'UTC')"] : []),
    ...(range.untilNs !== undefined ? ["time < fromUnixTimestamp64Nano({until:Int64}, 'UTC')"] : []),
  ];
}

/** Runs one correction over `range`; see the module comment. */
export async function correctLateOwners(
  store: Store,
  range: CorrectionRange = {},
): Promise<CorrectionReport> {
  const started = Date.now();
  const batch = randomUUID();
  const params = {
    batch,
    ...(range.sinceNs !== undefined ? { since: range.sinceNs.toString() } : {}),
    ...(range.untilNs !== undefined ? { until: range.untilNs.toString() } : {}),
  };
  const report: CorrectionReport = { batch, src: 0, dst: 0, ms: 0 };

  // 1. Record newly resolvable ends.
  for (const side of sides) {
    const late = [`${side}_source = 'none'`, ...rangeSql(range)];
    const probes =
      `SELECT flow_id AS probe_id, ${ipOf(side)} AS probe_ip, time AS probe_time FROM flows WHERE ${late.join(' AND ')} ` +
      `AND flow_id NOT IN (SELECT flow_id FROM flow_owner_corrections WHERE side = '${side}')`;
    await store.command(
      `INSERT INTO flow_owner_corrections (flow_id, time, side, ${ownerCols.map(q).join(', ')}, batch, corrected_at)
       SELECT f.flow_id, f.f_time, '${side}', ${ownerCols
         .map((c) => `r.owner_${c === 'node' ? 'node_name' : c}`)
         .join(', ')}, {batch:String}, now64(9)
       FROM (SELECT flow_id, any(time) AS f_time FROM flows WHERE ${late.join(' AND ')} GROUP BY flow_id) AS f
       INNER JOIN (${resolveOwnersSql(probes, { allocOnly: true })}) AS r ON f.flow_id = r.probe_id`,
      { params },
    );
    const n = await store.query<{ n: string }>(
      `SELECT toString(count()) AS n FROM flow_owner_corrections WHERE batch = {batch:String} AND side = '${side}'`,
      { params },
    );
    report[side] = Number(n[0]?.n ?? 0);
  }

  if (report.src + report.dst > 0) {
    // 2. Move the batch's counts in every minute rollup: -1 with the stored dimensions, +1 with the
    // corrected ones, per flow (both ends corrected at once when both are in the batch).
    for (const rollup of rollupTables) await moveRollupCounts(store, rollup, params);
  }

  // 3. Rewrite the stored owner columns of every recorded end still stored as `none` (this batch
  // and any earlier one whose rewrite did not finish).
  for (const side of sides) {
    // joinGet in a mutation runs without a current database: the table name is qualified.
    const join = `flow_owner_fix_${side}`;
    await store.command(`DROP TABLE IF EXISTS ${join}`);
    await store.command(
      // Keyed by the id's hex text: StorageJoin has no 128-bit key type for FixedString(16).
      `CREATE TABLE ${join} ENGINE = Join(ANY, LEFT, fid) AS
       SELECT lower(hex(flow_id)) AS fid, ${ownerCols.map((c) => `toString(${q(c)}) AS ${c}`).join(', ')}
       FROM flow_owner_corrections FINAL WHERE side = '${side}' ${rangeSql(range)
         .map((w) => `AND ${w}`)
         .join(' ')}`,
      { params },
    );
    await store.command(
      `ALTER TABLE flows UPDATE ${ownerCols
        .map((c) => `${side}_${c} = joinGet('${store.database}.${join}', '${c}', lower(hex(flow_id)))`)
        .join(', ')}, ${side}_source = 'ownership'
       WHERE ${side}_source = 'none' AND lower(hex(flow_id)) IN (SELECT fid FROM ${join})`,
      { settings: { mutations_sync: 2, allow_nondeterministic_mutations: 1 } },
    );
    await store.command(`DROP TABLE IF EXISTS ${join}`);
  }
  report.ms = Date.now() - started;
  return report;
}

/** Step 2 for one rollup (common/clickhouse/rollups.ts): the batch's -1/+1 rows. */
async function moveRollupCounts(store: Store, rollup: RollupTable, params: Record<string, string>) {
  if (rollup.ownerFields.length === 0) return;
  const owner = new Set(rollup.ownerFields.flatMap((c) => sides.map((s) => `${s}_${c}`)));
  const dims = rollupDimensions(rollup);
  const value = (col: string, eff: boolean) => {
    if (!owner.has(col)) return `f.${col} AS ${col}`;
    const s = col.slice(0, 3) as Side;
    const c = col.slice(4);
    return eff ? `if(${s}_c.hit = 1, ${s}_c.${c}, f.${col}) AS ${col}` : `f.${col} AS ${col}`;
  };
  const corrected = (s: Side) =>
    `LEFT JOIN (SELECT flow_id, toUInt8(1) AS hit, ${rollup.ownerFields.join(', ')} FROM flow_owner_corrections WHERE batch = {batch:String} AND side = '${s}') AS ${s}_c ON f.flow_id = ${s}_c.flow_id`;
  const select = (sign: number, eff: boolean) =>
    `SELECT toStartOfMinute(f.time) AS minute, ${dims.map((d) => value(d, eff)).join(', ')}, toInt64(${sign}) AS flows
     FROM (SELECT * FROM flows WHERE flow_id IN (SELECT flow_id FROM flow_owner_corrections WHERE batch = {batch:String})
           AND (src_source = 'none' OR dst_source = 'none')) AS f
     ${corrected('src')} ${corrected('dst')}`;
  await store.command(
    `INSERT INTO ${rollup.name} (minute, ${dims.join(', ')}, flows)
     SELECT minute, ${dims.join(', ')}, sum(flows)
     FROM (${select(-1, false)} UNION ALL ${select(1, true)})
     GROUP BY minute, ${dims.join(', ')}`,
    { params, settings: { join_use_nulls: 0 } },
  );
}

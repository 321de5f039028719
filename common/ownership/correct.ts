/**
 * Late ownership reaching aggregates (issue 12.4). Flows stored before their owner was known
 * (the Nomad API down, events late, `flowtrail import` before `import-nomad-events`, a Kafka-only
 * collector) keep `none` in their stored owner columns; row pages re-attribute them at query
 * time (reattribute.ts), but alerts, tenant summaries, top, timeseries, topology and the minute
 * rollup read stored columns. This job corrects the store itself, by the one owner rule
 * (owner-rule.ts resolveOwnersSql) and the one scope rule (common/flow/scope.ts), for the ends
 * stored as `none` in a time range. One run is one batch, whose progress is recorded in
 * `flow_owner_correction_batches` (migration 0061) before each next step:
 *
 * 1. `started`; record each newly resolvable end in `flow_owner_corrections` with the batch id
 *    (ends recorded by any earlier batch are skipped, so no end is corrected twice), then what the
 *    run examined in `flow_owner_correction_scans` (migration 0100), and the new address scopes of
 *    both ends of each of those flows in `flow_owner_correction_flows` (an end's scope depends on
 *    both ends' tenants) → `recorded`;
 * 2. move the batch's counts in every minute rollup (common/clickhouse/rollups.ts): a -n row with
 *    the flows' stored dimensions and a +n row with the recorded ones, inserted with the batch as
 *    `insert_deduplication_token`, so repeating the insert after a crash adds nothing → `rolled_up`;
 * 3. rewrite the stored owner and scope columns of the batch's flows from the recorded rows (one
 *    lightweight UPDATE through a Join-engine table; writing recorded values twice is harmless)
 *    → `done`.
 *
 * The reads are bounded by the late ownership, not by the range: an end stored as nobody's can
 * only gain an owner from an interval recorded after the flow was stored (ingest attributes from
 * what is recorded), so step 1 looks only at the flows of the allocation intervals recorded since
 * the ownership an earlier run over a covering range examined (less `overlapMs`, for flows stored
 * while their owner was being recorded): per (address, hour) of each such interval, through the
 * primary key of `flows` for the source end and the address index (migration 0045) for the
 * destination end. The first run over a range examines every interval. Steps 2 and 3 read the
 * (hour, source address) key prefixes of the batch's flows. What it costs at 100M stored flows:
 * bin/correct-bench.ts.
 *
 * Every step after 1 derives only from recorded rows and from the flows' stored columns, which
 * nothing but step 3 of the same batch changes, so a step repeated after a crash writes what the
 * interrupted one would have. Each run first finishes the unfinished batches, oldest first,
 * before it records a new one (batches of one store must not interleave: run one job per store).
 *
 * Why rewrite rather than join at query time: every aggregate reader (alert rules, dashboards,
 * the gRPC API) would need the join, and the rollup cannot be joined per flow at all.
 *
 * Why a lightweight UPDATE (`UPDATE flows SET … WHERE …`, migration 0101) rather than a mutation
 * (`ALTER TABLE flows UPDATE`, used before): a mutation rewrites the named columns of every part
 * that holds one batch flow, and with mutations_sync it waits until the background pool has done
 * so, queued behind the merges of a store that is being written: at 65M stored flows, 100,000 late
 * flows took 686 s (46.2M rows merged) in step 3 alone. A lightweight UPDATE reads the batch's key
 * prefixes like steps 1 and 2 and writes one patch part holding only the batch's rows and the
 * columns it sets; it returns when the patch is written, and its values are visible to every reader
 * at once and after a restart (a patch part is a part). Measured by bin/correct-bench.ts at 30M stored
 * flows (notes/correct.md, load average 12-18 on 2 cores): 100,000 late flows, step 3 in 2.2-6.7 s,
 * 0.8-1.1M rows read, 0.8-3.4 s CPU, nothing mutated; the whole run 24-33 s, 10-17 s CPU; 1,000,000
 * late flows, step 3 in 68 s (7.9M rows read, 21.5 s CPU), the whole run 385 s. The same tenant
 * breakdown of the late hour answered at query time instead costs 4.9 s and 13.7-18.3M rows read per
 * query (the corrected rollup: 0.1 s, 1.4-2.0M rows).
 *
 * What it costs readers: while `flows` has any patch part, reads that would materialize columns
 * lazily (a row page sorted by time) read them eagerly, in every partition: a page of the late hour
 * read 6-8 times the bytes (2.9 GB instead of 0.35 GB) and 4-6 times the CPU; a patched granule also
 * pays merging the patch in, and the tenant set indexes are not used on a patched part. So step 3
 * asks for the batch's patches to be folded into their parts at once (APPLY PATCHES, a background
 * mutation of the patched columns of the parts holding batch rows; 20 s and 6 s CPU for 1.1M patch
 * rows), and the engine drops a patch no part needs within about a minute: at 30M, readers were back
 * to their cost about 3 minutes after the run. (chdb 26.7 keeps dropped patch parts on disk, and they
 * are active again for about 40 s after each reopen of the store.)
 * @module
 */
import { randomUUID } from 'node:crypto';
import { rollupBucket, rollupDimensions, rollupTables, tenantRollups } from '../clickhouse/rollups.ts';
import { SqlParams } from '../clickhouse/sql-params.ts';
import type { Store } from '../clickhouse/store.ts';
import { defaultTenancyConfig } from '../config/tenancy.ts';
import { type ScopeConfig, scopeSql } from '../flow/scope.ts';
import { endOwnerFields, resolveOwnersSql } from './owner-rule.ts';
import { mergedOwnershipSql } from './persistence.ts';

/** What a correction run did. */
export interface CorrectionReport {
  /** The run's new batch ('' when it found no late end). */
  batch: string;
  /** Ends newly resolved and recorded, per side. */
  src: number;
  dst: number;
  /** Unfinished batches of earlier runs that this run finished first. */
  resumed: number;
  /** Wall time of the run, ms, and of its steps (summed over resumed and new batches). */
  ms: number;
  stepMs: { record: number; rollup: number; rewrite: number };
}

/** The steps a batch records (migration 0061), in order. */
export const correctionSteps = ['started', 'recorded', 'rolled_up', 'done'] as const;
export type CorrectionStep = (typeof correctionSteps)[number];

/** Time range of a correction run (Unix ns, since inclusive, until exclusive); both optional. */
export interface CorrectionRange {
  sinceNs?: bigint;
  untilNs?: bigint;
}

/** Options of a correction run. */
export interface CorrectionOptions extends CorrectionRange {
  /** The scope rule's settings (the config file's tenancy). Default: the defaults. */
  tenancy?: ScopeConfig;
  /**
   * Ownership rows recorded this long before an earlier run's start are examined again (default
   * 10 min): a flow stored as nobody's while its owner was already recorded (the Kafka writer's
   * ownership refresh, a sink's flush or retry) can land after the run that examined the owner.
   */
  overlapMs?: number;
  /**
   * Tests only: called after each step's work and before its state is recorded (the worst
   * moment to crash); throwing there aborts the run as a crash would.
   */
  afterWork?: (work: 'ends' | 'scopes' | 'rollup' | 'rewrite', batch: string) => void | Promise<void>;
}

const sides = ['src', 'dst'] as const;
type Side = (typeof sides)[number];
const ipOf = (side: Side) => (side === 'src' ? 'source_ip' : 'destination_ip');
const ownerCols = endOwnerFields;
const q = (c: string) => (c === 'group' ? '`group`' : c);

/** The batch's recorded ends of one side, one row per flow (`hit` = 1), for LEFT JOINs. */
const endsOf = (span: Span, side: Side, alias: string) =>
  `LEFT JOIN (SELECT flow_id, toUInt8(1) AS hit, ${ownerCols.map(q).join(', ')}
     FROM ${span.ends} WHERE side = '${side}') AS ${alias}
   ON f.flow_id = ${alias}.flow_id`;

/** The batch's recorded scopes, one row per flow (re-recording after a crash may repeat rows). */
const scopesOf = `INNER JOIN (SELECT flow_id, any(src_scope) AS src_scope, any(dst_scope) AS dst_scope
     FROM flow_owner_correction_flows WHERE batch = {batch:String} GROUP BY flow_id) AS sc
   ON f.flow_id = sc.flow_id`;

/** An owner field of one side after the correction: the recorded one when the end is in the batch. */
const effective = (side: Side, col: string) => `if(${side}_c.hit = 1, ${side}_c.${q(col)}, f.${side}_${col})`;

/**
 * A batch's read context: its time span (Unix ns digits, first and last flow time); `keyed`, see
 * batchSpan; `ends`, the table holding the batch's recorded ends for the steps to join.
 */
type Span = { lo: string; hi: string; keyed: boolean; ends: string };

/**
 * The batch's time span (Unix ns), bounding every read of `flows` by the batch's flows, and
 * whether its recorded ends all carry their flow's source address (rows recorded before migration
 * 0100 do not): then a step reads only the (hour, source address) prefixes of the primary key
 * that hold the batch's flows, not every flow of its span. And a copy of the batch's recorded
 * ends in memory: `flow_owner_corrections` is keyed by flow, so each read of one batch's rows
 * would scan every batch's (a dozen per batch). Made once per batch after step 1, which alone
 * writes the rows they derive from; dropped when the batch is done, made again after a crash.
 */
async function batchSpan(store: Store, batch: string): Promise<Span> {
  const ends = `flow_owner_batch_ends_${batch.replace(/[^0-9a-f]/g, '')}`;
  await store.command(`DROP TABLE IF EXISTS ${ends}`);
  await store.command(
    `CREATE TABLE ${ends} ENGINE = Memory AS SELECT * FROM flow_owner_corrections WHERE batch = {batch:String}`,
    { params: { batch } },
  );
  const [span] = await store.query<{ lo: string; hi: string; unkeyed: string }>(
    `SELECT toString(toUnixTimestamp64Nano(min(time))) AS lo, toString(toUnixTimestamp64Nano(max(time))) AS hi,
       toString(countIf(source_ip = toIPv6('::'))) AS unkeyed
     FROM ${ends}`,
  );
  const ns = (v: string | undefined) => (/^\d+$/.test(v ?? '') ? v! : '0');
  return { lo: ns(span?.lo), hi: ns(span?.hi), keyed: span?.unkeyed === '0', ends };
}

/** The batch's flows' primary-key prefixes. */
const batchKeysSql = (span: Span) =>
  span.keyed
    ? ` AND (toStartOfHour(time), source_ip) IN (SELECT toStartOfHour(time), source_ip FROM ${span.ends})`
    : '';

/** Rows of `flows` that may belong to the batch (its span, and its key prefixes when known). */
const inBatch = (span: Span) =>
  "time >= fromUnixTimestamp64Nano({lo:Int64}, 'UTC') AND time <= fromUnixTimestamp64Nano({hi:Int64}, 'UTC')" +
  batchKeysSql(span);

async function mark(store: Store, batch: string, step: CorrectionStep): Promise<void> {
  await store.command(
    `INSERT INTO flow_owner_correction_batches (batch, step, at) SELECT {batch:String}, {step:String}, now64(9)`,
    { params: { batch, step } },
  );
}

/** Default of CorrectionOptions.overlapMs. */
export const defaultOverlapMs = 600_000;

const maxInt64 = '9223372036854775807';

/** The range as bound parameters `since`/`until` (0 and the Int64 maximum when unbounded). */
const rangeParams = (range: CorrectionRange) => ({
  since: (range.sinceNs ?? 0n).toString(),
  until: range.untilNs?.toString() ?? maxInt64,
});

/**
 * The ownership rows an earlier run examined for a range covering `range` were recorded before
 * the returned instant (Unix ns digits); undefined when no run has examined such a range.
 */
async function examinedBefore(store: Store, range: CorrectionRange): Promise<string | undefined> {
  const [r] = await store.query<{ n: string; w: string }>(
    `SELECT toString(count()) AS n, toString(toUnixTimestamp64Nano(max(examined_to))) AS w
     FROM flow_owner_correction_scans WHERE since_ns <= {since:Int64} AND until_ns >= {until:Int64}`,
    { params: rangeParams(range) },
  );
  return Number(r?.n ?? 0) > 0 ? r!.w : undefined;
}

/**
 * The late intervals as (address, hour) pairs: every hour of `flows` (the primary key's first
 * column) that an allocation interval recorded since {from} (all of them when `from` is undefined)
 * overlaps within the run's range. Open intervals end at the newest stored flow.
 */
function latePairsSql(from: boolean): string {
  const recent = from
    ? ` AND (address, kind, alloc_id, node_id) IN (SELECT address, kind, alloc_id, node_id FROM ownership
         WHERE kind = 'alloc' AND recorded_at >= fromUnixTimestamp64Nano({from:Int64}, 'UTC'))`
    : '';
  return `SELECT DISTINCT address, hour FROM (
      SELECT address, greatest(start, fromUnixTimestamp64Nano({since:Int64}, 'UTC')) AS s,
        least(\`end\`, fromUnixTimestamp64Nano({until:Int64}, 'UTC'), fromUnixTimestamp64Nano({newest:Int64}, 'UTC')) AS e
      FROM (${mergedOwnershipSql(`kind = 'alloc'${recent}`)})
      WHERE s < e)
    ARRAY JOIN timeSlots(toDateTime(s, 'UTC'), toUInt32(dateDiff('second', s, e) + 1), toUInt32(3600)) AS hour`;
}

/** The flows that may hold one side's late ends, read through the primary key or address index. */
function lateProbesSql(side: Side, pairs: string): string {
  const keys =
    side === 'src'
      ? `(toStartOfHour(time), source_ip) IN (SELECT hour, address FROM (${pairs}))`
      : // The destination end: the address index (migrations/0045) names the (hour, source_ip)
        // prefixes of the flows that carry the address, as common/filter addressLookupSql does.
        `destination_ip IN (SELECT address FROM (${pairs}))
         AND (toStartOfHour(time), source_ip) IN (SELECT hour, source_ip FROM flows_by_address
           WHERE (address, hour) IN (SELECT address, hour FROM (${pairs})))`;
  return `SELECT tuple(flow_id, time, source_ip) AS probe_id, ${ipOf(side)} AS probe_ip, time AS probe_time
    FROM flows
    WHERE ${side}_source = 'none' AND ${keys}
      AND time >= fromUnixTimestamp64Nano({since:Int64}, 'UTC') AND time < fromUnixTimestamp64Nano({until:Int64}, 'UTC')
      AND flow_id NOT IN (SELECT flow_id FROM flow_owner_corrections WHERE side = '${side}')`;
}

/**
 * Step 1: records the batch's ends (skipping ends of earlier batches); returns counts per side.
 * Only ends an interval recorded since the last examined ownership (less the overlap) can own
 * are looked at: every other end stored as nobody's had its ownership examined by an earlier run
 * (or attributed at ingest), so it has no owner to find. The run's examination is then recorded,
 * once all its ends are.
 */
async function recordEnds(
  store: Store,
  batch: string,
  opts: CorrectionOptions,
): Promise<{ src: number; dst: number }> {
  const [now] = await store.query<{ now: string; newest: string }>(
    `SELECT toString(toUnixTimestamp64Nano(now64(9))) AS now,
       toString(toUnixTimestamp64Nano(max(time)) + 1) AS newest FROM flows`,
  );
  const before = await examinedBefore(store, opts);
  const overlapNs = BigInt(opts.overlapMs ?? defaultOverlapMs) * 1_000_000n;
  const from = before === undefined ? undefined : (BigInt(before) - overlapNs).toString();
  const params = {
    batch,
    ...rangeParams(opts),
    newest: now?.newest ?? '0',
    ...(from !== undefined ? { from } : {}),
  };
  const pairs = latePairsSql(from !== undefined);
  const out = { src: 0, dst: 0 };
  for (const side of sides) {
    const owner = (c: string) => `r.owner_${c === 'node' ? 'node_name' : c}`;
    await store.command(
      `INSERT INTO flow_owner_corrections (flow_id, time, source_ip, side, ${ownerCols.map(q).join(', ')}, batch, corrected_at)
       SELECT tupleElement(r.probe_id, 1) AS fid, tupleElement(r.probe_id, 2), tupleElement(r.probe_id, 3), '${side}',
         ${ownerCols.map(owner).join(', ')}, {batch:String}, now64(9)
       FROM (${resolveOwnersSql(lateProbesSql(side, pairs), {
         allocOnly: true,
         addresses: `SELECT address FROM (${pairs})`,
       })}) AS r
       LIMIT 1 BY fid`,
      { params },
    );
    const n = await store.query<{ n: string }>(
      `SELECT toString(count()) AS n FROM flow_owner_corrections WHERE batch = {batch:String} AND side = '${side}'`,
      { params },
    );
    out[side] = Number(n[0]?.n ?? 0);
  }
  await store.command(
    `INSERT INTO flow_owner_correction_scans (batch, since_ns, until_ns, examined_to, at)
     SELECT {batch:String}, {since:Int64}, {until:Int64}, fromUnixTimestamp64Nano({now:Int64}, 'UTC'), now64(9)`,
    { params: { ...params, now: now?.now ?? '0' } },
  );
  return out;
}

/** Step 1, second half: the new scopes of both ends of every flow of the batch. */
async function recordScopes(store: Store, batch: string, span: Span, tenancy: ScopeConfig): Promise<void> {
  const p = new SqlParams('s');
  const end = (side: Side) => {
    const other: Side = side === 'src' ? 'dst' : 'src';
    return scopeSql(p, tenancy, {
      ip: `f.${ipOf(side)}`,
      tenant: effective(side, 'tenant'),
      source: `if(${side}_c.hit = 1, 'ownership', toString(f.${side}_source))`,
      namespace: effective(side, 'namespace'),
      otherTenant: effective(other, 'tenant'),
    });
  };
  await store.command(
    `INSERT INTO flow_owner_correction_flows (batch, flow_id, src_scope, dst_scope)
     SELECT {batch:String}, f.flow_id, ${end('src')}, ${end('dst')}
     FROM (SELECT flow_id, any(source_ip) AS source_ip, any(destination_ip) AS destination_ip,
             ${sides
               .flatMap((s) => ['tenant', 'namespace', 'source'].map((c) => `any(${s}_${c}) AS ${s}_${c}`))
               .join(', ')}
           FROM flows WHERE ${inBatch(span)}
             AND flow_id IN (SELECT flow_id FROM ${span.ends})
           GROUP BY flow_id) AS f
     ${endsOf(span, 'src', 'src_c')} ${endsOf(span, 'dst', 'dst_c')}`,
    {
      params: { ...p.values, lo: span.lo, hi: span.hi, batch },
      // The key bound names source_ip, which this subquery also yields as an aggregate.
      settings: { join_use_nulls: 0, prefer_column_name_to_alias: 1 },
    },
  );
}

/** A rollup column of a batch's flow: stored (`eff` false) or corrected (owner fields, scopes). */
function columnValue(ownerFields: readonly string[]): (col: string, eff: boolean) => string {
  const owner = new Set(ownerFields.flatMap((c) => sides.map((s) => `${s}_${c}`)));
  return (col, eff) => {
    if (!eff) return `f.${col} AS ${col}`;
    const s = col.slice(0, 3) as Side;
    if (owner.has(col)) return `${effective(s, col.slice(4))} AS ${col}`;
    if (col === `${s}_scope`) return `sc.${col} AS ${col}`;
    return `f.${col} AS ${col}`;
  };
}

/**
 * The batch's flows as the rollups' views read them, with `cols` stored (`eff` false) or
 * corrected: every stored row counts, as the materialized views counted it at insert.
 */
const batchRows = (span: Span, ownerFields: readonly string[], cols: readonly string[], eff: boolean) => {
  const value = columnValue(ownerFields);
  return `SELECT ${cols.map((c) => value(c, eff)).join(', ')}
    FROM (SELECT * FROM flows WHERE ${inBatch(span)} AND flow_id IN
            (SELECT flow_id FROM flow_owner_correction_flows WHERE batch = {batch:String})) AS f
    ${scopesOf} ${endsOf(span, 'src', 'src_c')} ${endsOf(span, 'dst', 'dst_c')}`;
};

/**
 * Step 2: the batch's -n/+n rows in every rollup and every per-tenant hourly rollup
 * (common/clickhouse/rollups.ts), each insert deduplicated by the batch id and the rollup if repeated.
 */
async function rollUp(store: Store, batch: string, span: Span): Promise<void> {
  const once = (name: string) => ({
    params: { batch, lo: span.lo, hi: span.hi },
    settings: {
      join_use_nulls: 0,
      insert_deduplicate: 1,
      insert_deduplication_token: `late-owner-correction:${batch}:${name}`,
    },
  });
  for (const rollup of rollupTables) {
    const bucket = rollupBucket(rollup);
    const cols = rollupDimensions(rollup);
    const select = (sign: number, eff: boolean) =>
      `SELECT toStartOf${bucket === 'hour' ? 'Hour' : 'Minute'}(time) AS ${bucket}, ${cols.join(', ')},
         toInt64(${sign}) AS flows
       FROM (${batchRows(span, rollup.ownerFields, ['time', ...cols], eff)})`;
    const all = [bucket, ...cols];
    await store.command(
      // Sorted so a repeated insert splits into the same blocks as the first: the token suffixes
      // blocks by position, and a crash can land between blocks.
      `INSERT INTO ${rollup.name} (${all.join(', ')}, flows)
       SELECT ${all.join(', ')}, sum(flows) AS flows
       FROM (${select(-1, false)} UNION ALL ${select(1, true)})
       GROUP BY ${all.join(', ')}
       HAVING flows != 0
       ORDER BY ${all.join(', ')}`,
      once(rollup.name),
    );
  }
  // The tables built by their own insert (per-tenant hourly rows): the same -1/+1 rows, flow-shaped.
  for (const rollup of tenantRollups) {
    const cols = [...sides.flatMap((s) => rollup.ownerFields.map((c) => `${s}_${c}`)), ...rollup.flowColumns];
    const select = (sign: number, eff: boolean) =>
      `SELECT *, toInt8(${sign}) AS sign FROM (${batchRows(span, rollup.ownerFields, ['time', ...cols], eff)})`;
    await store.command(
      `INSERT INTO ${rollup.name} (${rollup.columns.join(', ')})
       ${rollup.select(`(${select(-1, false)} UNION ALL ${select(1, true)})`)}`,
      once(rollup.name),
    );
  }
}

/**
 * Step 3: rewrites the batch's flows from the recorded rows, by one lightweight UPDATE (migration
 * 0101): it reads the batch's key prefixes like the steps before it and writes a patch part
 * holding only the batch's rows and the columns below, visible to every reader at once. The
 * recorded values reach the UPDATE through a Join-engine table (joinGet; a lightweight UPDATE
 * takes no JOIN): one row per flow of the batch, so the patch has no row outside it.
 *
 * Then it asks for the patch to be folded into the parts it patches (APPLY PATCHES, a mutation
 * of the patched columns of the parts holding batch rows), without waiting: while a table has
 * any patch part, its readers apply the patches to the granules they read and read without lazy
 * materialization, even in partitions no patch touches (a row page of the listing read 6 times
 * the bytes at 30M stored, see the module comment); a merge would fold the patch in too, but the
 * parts of an old day may never merge again. The values are the same before and after, so the
 * mutation is no step of the batch: it runs in the background, and the patch is dropped once no
 * part needs it.
 */
async function rewrite(store: Store, batch: string, span: Span): Promise<void> {
  const join = `flow_owner_fix_${batch.replace(/[^0-9a-f]/g, '')}`;
  const fields = sides.flatMap((s) => ownerCols.map((c) => `${s}_${c}`));
  await store.command(`DROP TABLE IF EXISTS ${join}`);
  await store.command(
    // Keyed by the id's hex text: StorageJoin has no 128-bit key type for FixedString(16).
    `CREATE TABLE ${join} ENGINE = Join(ANY, LEFT, fid) AS
     SELECT lower(hex(f.flow_id)) AS fid, toUInt8(src_c.hit) AS src_hit, toUInt8(dst_c.hit) AS dst_hit,
       ${sides.flatMap((s) => ownerCols.map((c) => `toString(${s}_c.${q(c)}) AS ${s}_${c}`)).join(', ')},
       toString(sc.src_scope) AS src_scope, toString(sc.dst_scope) AS dst_scope
     FROM (SELECT DISTINCT flow_id FROM flow_owner_correction_flows WHERE batch = {batch:String}) AS f
     ${scopesOf} ${endsOf(span, 'src', 'src_c')} ${endsOf(span, 'dst', 'dst_c')}`,
    { params: { batch }, settings: { join_use_nulls: 0 } },
  );
  const k = 'lower(hex(flow_id))';
  const get = (col: string) => `joinGet('${store.database}.${join}', '${col}', ${k})`;
  // An end outside the batch keeps its value (the other end of its flow is the batch's).
  await store.command(
    `UPDATE flows SET ${fields
      .map((c) => `${q(c)} = if(${get(`${c.slice(0, 3)}_hit`)} = 1, ${get(c)}, ${q(c)})`)
      .join(', ')},
       ${sides.map((s) => `${s}_source = if(${get(`${s}_hit`)} = 1, 'ownership', toString(${s}_source))`).join(', ')},
       ${sides.map((s) => `${s}_scope = ${get(`${s}_scope`)}`).join(', ')}
     WHERE ${inBatch(span)} AND ${k} IN (SELECT fid FROM ${join})`,
    { params: { lo: span.lo, hi: span.hi } },
  );
  await store.command(`DROP TABLE IF EXISTS ${join}`);
  // The day partitions of the batch's flows (`flows` is partitioned by toDate(time)).
  const days = await store.query<{ day: string }>(
    `SELECT DISTINCT toString(toYYYYMMDD(time)) AS day FROM ${span.ends} ORDER BY day`,
  );
  for (const { day } of days)
    await store.command(`ALTER TABLE flows APPLY PATCHES IN PARTITION ID {day:String}`, {
      params: { day },
      settings: { mutations_sync: 0 },
    });
}

/** Batches an earlier run left unfinished, oldest first, with the last step each recorded. */
async function unfinished(store: Store): Promise<{ batch: string; last: CorrectionStep }[]> {
  return store.query<{ batch: string; last: CorrectionStep }>(
    `SELECT batch, toString(max(step)) AS last FROM flow_owner_correction_batches
     GROUP BY batch HAVING max(step) != 'done' ORDER BY min(at), batch`,
  );
}

/** Takes one batch from its recorded step to `done`. */
async function finish(
  store: Store,
  batch: string,
  from: CorrectionStep,
  opts: CorrectionOptions,
  report: CorrectionReport,
): Promise<void> {
  const tenancy = opts.tenancy ?? defaultTenancyConfig;
  const span = await batchSpan(store, batch);
  // The steps after `started`: each one's work, its timing slot and its test hook, in order.
  const steps = [
    {
      step: 'recorded',
      time: 'record',
      hook: 'scopes',
      work: () => recordScopes(store, batch, span, tenancy),
    },
    { step: 'rolled_up', time: 'rollup', hook: 'rollup', work: () => rollUp(store, batch, span) },
    { step: 'done', time: 'rewrite', hook: 'rewrite', work: () => rewrite(store, batch, span) },
  ] as const;
  const reached = correctionSteps.indexOf(from);
  for (const s of steps) {
    if (correctionSteps.indexOf(s.step) <= reached) continue;
    const t = Date.now();
    await s.work();
    report.stepMs[s.time] += Date.now() - t;
    await opts.afterWork?.(s.hook, batch);
    await mark(store, batch, s.step);
  }
  await store.command(`DROP TABLE IF EXISTS ${span.ends}`);
}

/**
 * Records every ownership row recorded so far as examined for every flow, without a run: for a
 * store whose flows were all attributed at ingest from that ownership (a restored backup, a
 * benchmark's fill), so the next run reads only the flows of ownership recorded after it.
 */
export async function markOwnershipExamined(store: Store): Promise<void> {
  await store.command(
    `INSERT INTO flow_owner_correction_scans (batch, since_ns, until_ns, examined_to, at)
     SELECT '', 0, {until:Int64}, now64(9), now64(9)`,
    { params: { until: maxInt64 } },
  );
}

/**
 * Runs one correction over `range` (see the module comment): finishes unfinished batches first,
 * then records and applies a new one when there are newly resolvable ends.
 */
export async function correctLateOwners(
  store: Store,
  opts: CorrectionOptions = {},
): Promise<CorrectionReport> {
  const started = Date.now();
  const report: CorrectionReport = {
    batch: '',
    src: 0,
    dst: 0,
    resumed: 0,
    ms: 0,
    stepMs: { record: 0, rollup: 0, rewrite: 0 },
  };
  for (const u of await unfinished(store)) {
    await finish(store, u.batch, u.last, opts, report);
    report.resumed++;
  }
  const batch = randomUUID();
  await mark(store, batch, 'started');
  const t = Date.now();
  const ends = await recordEnds(store, batch, opts);
  report.stepMs.record += Date.now() - t;
  await opts.afterWork?.('ends', batch);
  if (ends.src + ends.dst === 0) {
    // Nothing late: the batch is empty and closed at once.
    await mark(store, batch, 'done');
  } else {
    report.batch = batch;
    report.src = ends.src;
    report.dst = ends.dst;
    await finish(store, batch, 'started', opts, report);
  }
  report.ms = Date.now() - started;
  return report;
}

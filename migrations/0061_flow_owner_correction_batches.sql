-- Crash-safe late-owner correction (common/ownership/correct.ts). A correction batch goes
-- through steps, each recorded here before the next one starts, so a run that died midway is
-- finished by the next run (at start and every few minutes) instead of leaving its counts out of
-- the minute rollup or counting them twice:
--   started   the batch exists; its ends are being recorded in flow_owner_corrections
--   recorded  its ends and the scopes of its flows are recorded (nothing else changed yet)
--   rolled_up its -n/+n rows are in flows_minute (inserted with the batch as dedup token)
--   done      the flows' owner and scope columns are rewritten
-- The state of a batch is its highest step. Batches are few (one per run that found late ends).
CREATE TABLE IF NOT EXISTS flow_owner_correction_batches
(
    batch String,
    step Enum8('started' = 1, 'recorded' = 2, 'rolled_up' = 3, 'done' = 4),
    at DateTime64(9, 'UTC')
)
ENGINE = MergeTree
ORDER BY (batch, step);

-- The flows a batch corrects, with both ends' address scopes after the correction (the scope of
-- an end depends on both ends' tenants: common/flow/scope.ts). The rollup rows and the rewrite
-- are derived from these rows and the batch's flow_owner_corrections rows, never recomputed
-- from the ownership table, so a resumed step writes exactly what the interrupted one would
-- have. Re-recording after a crash is harmless: rows of a batch collapse per flow.
CREATE TABLE IF NOT EXISTS flow_owner_correction_flows
(
    batch String,
    flow_id FixedString(16),
    src_scope Enum8('unknown' = 0, 'same-tenant' = 1, 'other-tenant' = 2, 'platform' = 3, 'metadata' = 4, 'private' = 5, 'link-local' = 6, 'world' = 7),
    dst_scope Enum8('unknown' = 0, 'same-tenant' = 1, 'other-tenant' = 2, 'platform' = 3, 'metadata' = 4, 'private' = 5, 'link-local' = 6, 'world' = 7)
)
ENGINE = ReplacingMergeTree
ORDER BY (batch, flow_id);

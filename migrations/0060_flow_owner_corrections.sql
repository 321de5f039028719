-- Late ownership reaching aggregates (common/ownership/correct.ts): one row per flow end whose
-- owner became known after the flow was stored (ownership imported or synced later than the
-- flows). The correction job records the owner here, moves the minute rollup's counts from the
-- old owner to the new one with signed -1/+1 rows, and rewrites the flow's stored owner columns,
-- so alerts, tenant summaries, top, timeseries and topology read the effective owner.
-- ReplacingMergeTree on (side, flow_id): re-running a correction keeps one row per end.
CREATE TABLE IF NOT EXISTS flow_owner_corrections
(
    flow_id FixedString(16),
    time DateTime64(9, 'UTC'),
    side Enum8('src' = 1, 'dst' = 2),
    tenant LowCardinality(String),
    account LowCardinality(String),
    namespace LowCardinality(String),
    job LowCardinality(String),
    `group` LowCardinality(String),
    alloc_id String,
    alloc_name String,
    node LowCardinality(String),
    batch String,
    corrected_at DateTime64(9, 'UTC')
)
ENGINE = ReplacingMergeTree(corrected_at)
ORDER BY (side, flow_id);

-- Minute rollup of flows, maintained at insert by a materialized view: the dashboards (timeseries,
-- top ports, tenant summary counts, verdict/drop-reason breakdowns) read thousands of rollup rows
-- instead of scanning millions of flows.
--
-- Counters are signed (Int64) so a late re-attribution can move counts between owners: it inserts
-- the old owner's dimensions with -n and the new owner's with +n; SummingMergeTree folds them and
-- drops rows that sum to zero. Queries always aggregate (sum(flows)), never read rows as final.
-- The view runs in the flows insert, so the flows batch's dedup token covers it too (a skipped
-- batch adds nothing here); that needs the same dedup window on this table. No TTL: flows expire
-- by ingest time, which a rollup row does not have; rollup rows are few (see /work/notes/scale.md).
CREATE TABLE IF NOT EXISTS flows_minute
(
    minute DateTime('UTC'),
    src_tenant LowCardinality(String),
    src_account LowCardinality(String),
    src_alloc_id String,
    src_scope Enum8('unknown' = 0, 'same-tenant' = 1, 'other-tenant' = 2, 'platform' = 3, 'metadata' = 4, 'private' = 5, 'link-local' = 6, 'world' = 7),
    dst_tenant LowCardinality(String),
    dst_account LowCardinality(String),
    dst_alloc_id String,
    dst_scope Enum8('unknown' = 0, 'same-tenant' = 1, 'other-tenant' = 2, 'platform' = 3, 'metadata' = 4, 'private' = 5, 'link-local' = 6, 'world' = 7),
    verdict Enum8('VERDICT_UNKNOWN' = 0, 'FORWARDED' = 1, 'DROPPED' = 2, 'ERROR' = 3, 'AUDIT' = 4, 'REDIRECTED' = 5, 'TRACED' = 6, 'TRANSLATED' = 7),
    drop_reason_desc LowCardinality(String),
    l4_protocol Enum8('NONE' = 0, 'TCP' = 1, 'UDP' = 2, 'ICMPv4' = 3, 'ICMPv6' = 4, 'SCTP' = 5, 'VRRP' = 6, 'IGMP' = 7),
    destination_port UInt16,
    flows Int64
)
ENGINE = SummingMergeTree(flows)
PARTITION BY toDate(minute)
ORDER BY (minute, src_tenant, dst_tenant, verdict, src_scope, dst_scope, drop_reason_desc, l4_protocol, destination_port, src_account, dst_account, src_alloc_id, dst_alloc_id)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS flows_minute_mv TO flows_minute AS
SELECT
    toStartOfMinute(time) AS minute,
    src_tenant, src_account, src_alloc_id, src_scope,
    dst_tenant, dst_account, dst_alloc_id, dst_scope,
    verdict, drop_reason_desc, l4_protocol, destination_port,
    toInt64(count()) AS flows
FROM flows
GROUP BY minute, src_tenant, src_account, src_alloc_id, src_scope, dst_tenant, dst_account, dst_alloc_id, dst_scope, verdict, drop_reason_desc, l4_protocol, destination_port;

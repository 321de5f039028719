-- The minute rollup with every dimension the console groups and filters by (Visualize, service map,
-- dashboards): flows_minute (0041) plus namespace, job and allocation name of both ends, the
-- observing node and the L7 protocol. These are functions of the allocation for almost every flow,
-- so the table has about as many rows as flows_minute; the aggregate planner
-- (query-api/src/queries/rollup.ts) reads the narrowest rollup holding what a question needs.
--
-- Signed counter and late re-attribution as in 0041: the correction job
-- (common/ownership/correct.ts) writes -n/+n rows to every table of common/clickhouse/rollups.ts.
-- Addresses are not here (a rollup per minute with addresses would be as large as flows); a
-- question needing them (distinct peers, top addresses, remote /24) reads `flows`.
--
-- `time` is an alias of `minute`, so the WHERE clause built for `flows` (time range, filters on
-- these columns, tenant scope) runs unchanged on a rollup, and cannot drift from it.
--
-- The backfill below runs once, at migration time (before ingest starts): history stored before
-- this table existed is rolled up from `flows` as it stands, corrected owners included. Monthly
-- partitions keep that one insert within max_partitions_per_insert_block (100) for any retention.
CREATE TABLE IF NOT EXISTS flows_minute_detail
(
    minute DateTime('UTC'),
    time DateTime('UTC') ALIAS minute,
    src_tenant LowCardinality(String),
    src_account LowCardinality(String),
    src_namespace LowCardinality(String),
    src_job LowCardinality(String),
    src_alloc_id String,
    src_alloc_name String,
    src_scope Enum8('unknown' = 0, 'same-tenant' = 1, 'other-tenant' = 2, 'platform' = 3, 'metadata' = 4, 'private' = 5, 'link-local' = 6, 'world' = 7),
    dst_tenant LowCardinality(String),
    dst_account LowCardinality(String),
    dst_namespace LowCardinality(String),
    dst_job LowCardinality(String),
    dst_alloc_id String,
    dst_alloc_name String,
    dst_scope Enum8('unknown' = 0, 'same-tenant' = 1, 'other-tenant' = 2, 'platform' = 3, 'metadata' = 4, 'private' = 5, 'link-local' = 6, 'world' = 7),
    node_name LowCardinality(String),
    verdict Enum8('VERDICT_UNKNOWN' = 0, 'FORWARDED' = 1, 'DROPPED' = 2, 'ERROR' = 3, 'AUDIT' = 4, 'REDIRECTED' = 5, 'TRACED' = 6, 'TRANSLATED' = 7),
    drop_reason_desc LowCardinality(String),
    l4_protocol Enum8('NONE' = 0, 'TCP' = 1, 'UDP' = 2, 'ICMPv4' = 3, 'ICMPv6' = 4, 'SCTP' = 5, 'VRRP' = 6, 'IGMP' = 7),
    l7_protocol Enum8('none' = 0, 'dns' = 1, 'http' = 2, 'kafka' = 3),
    destination_port UInt16,
    flows Int64
)
ENGINE = SummingMergeTree(flows)
PARTITION BY toYYYYMM(minute)
ORDER BY (minute, src_tenant, dst_tenant, verdict, src_scope, dst_scope, drop_reason_desc, l4_protocol, l7_protocol, destination_port, node_name, src_account, dst_account, src_namespace, dst_namespace, src_job, dst_job, src_alloc_id, dst_alloc_id, src_alloc_name, dst_alloc_name)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS flows_minute_detail_mv TO flows_minute_detail AS
SELECT
    toStartOfMinute(time) AS minute,
    src_tenant, src_account, src_namespace, src_job, src_alloc_id, src_alloc_name, src_scope,
    dst_tenant, dst_account, dst_namespace, dst_job, dst_alloc_id, dst_alloc_name, dst_scope,
    node_name, verdict, drop_reason_desc, l4_protocol, l7_protocol, destination_port,
    toInt64(count()) AS flows
FROM flows
GROUP BY minute, src_tenant, src_account, src_namespace, src_job, src_alloc_id, src_alloc_name, src_scope, dst_tenant, dst_account, dst_namespace, dst_job, dst_alloc_id, dst_alloc_name, dst_scope, node_name, verdict, drop_reason_desc, l4_protocol, l7_protocol, destination_port;

INSERT INTO flows_minute_detail (minute, src_tenant, src_account, src_namespace, src_job, src_alloc_id, src_alloc_name, src_scope, dst_tenant, dst_account, dst_namespace, dst_job, dst_alloc_id, dst_alloc_name, dst_scope, node_name, verdict, drop_reason_desc, l4_protocol, l7_protocol, destination_port, flows)
SELECT
    toStartOfMinute(time) AS minute,
    src_tenant, src_account, src_namespace, src_job, src_alloc_id, src_alloc_name, src_scope,
    dst_tenant, dst_account, dst_namespace, dst_job, dst_alloc_id, dst_alloc_name, dst_scope,
    node_name, verdict, drop_reason_desc, l4_protocol, l7_protocol, destination_port,
    toInt64(count()) AS flows
FROM flows
GROUP BY minute, src_tenant, src_account, src_namespace, src_job, src_alloc_id, src_alloc_name, src_scope, dst_tenant, dst_account, dst_namespace, dst_job, dst_alloc_id, dst_alloc_name, dst_scope, node_name, verdict, drop_reason_desc, l4_protocol, l7_protocol, destination_port;

ALTER TABLE flows_minute ADD COLUMN IF NOT EXISTS time DateTime('UTC') ALIAS minute;

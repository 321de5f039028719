-- Hourly per-tenant rollup for the tenant summary (issue 13): one row group per tenant that owns
-- either end of a flow (a flow between two tenants counts once for each; a flow within one
-- tenant once), so one tenant's day is a primary-key range of a few thousand rows. `owns_source` /
-- `owns_destination`: the tenant owns the source / the destination; `account`: the account of the
-- tenant's own end (the source's when it owns both), as the summary counts them on `flows`.
--
-- Late attribution: common/clickhouse/rollups.ts registers this table with its insert, so the
-- correction job (common/ownership/correct.ts) moves counts here with -n/+n rows as in the
-- minute rollups (an end stored as `none` has no tenant row to take from; the other end's row
-- may change its scope). Signed counter, dedup window and no TTL as in 0041.
CREATE TABLE IF NOT EXISTS flows_hour_tenant
(
    hour DateTime('UTC') CODEC(Delta, ZSTD(1)),
    time DateTime('UTC') ALIAS hour,
    tenant LowCardinality(String),
    owns_source UInt8,
    owns_destination UInt8,
    account LowCardinality(String),
    verdict Enum8('VERDICT_UNKNOWN' = 0, 'FORWARDED' = 1, 'DROPPED' = 2, 'ERROR' = 3, 'AUDIT' = 4, 'REDIRECTED' = 5, 'TRACED' = 6, 'TRANSLATED' = 7),
    drop_reason_desc LowCardinality(String),
    dst_scope Enum8('unknown' = 0, 'same-tenant' = 1, 'other-tenant' = 2, 'platform' = 3, 'metadata' = 4, 'private' = 5, 'link-local' = 6, 'world' = 7),
    l4_protocol Enum8('NONE' = 0, 'TCP' = 1, 'UDP' = 2, 'ICMPv4' = 3, 'ICMPv6' = 4, 'SCTP' = 5, 'VRRP' = 6, 'IGMP' = 7),
    destination_port UInt16,
    flows Int64 CODEC(T64, ZSTD(1))
)
ENGINE = SummingMergeTree(flows)
PARTITION BY toYYYYMM(hour)
ORDER BY (tenant, hour, owns_source, owns_destination, verdict, dst_scope, drop_reason_desc, l4_protocol, destination_port, account)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS flows_hour_tenant_mv TO flows_hour_tenant AS
SELECT
    toStartOfHour(time) AS hour, tenant,
    toUInt8(src_tenant = tenant) AS owns_source, toUInt8(dst_tenant = tenant) AS owns_destination,
    if(src_tenant = tenant, src_account, dst_account) AS account,
    verdict, drop_reason_desc, dst_scope, l4_protocol, destination_port,
    toInt64(count()) AS flows
FROM flows
ARRAY JOIN arrayDistinct(arrayFilter(x -> x != '', [src_tenant, dst_tenant])) AS tenant
GROUP BY hour, tenant, owns_source, owns_destination, account, verdict, drop_reason_desc, dst_scope, l4_protocol, destination_port;

INSERT INTO flows_hour_tenant (hour, tenant, owns_source, owns_destination, account, verdict, drop_reason_desc, dst_scope, l4_protocol, destination_port, flows)
SELECT
    toStartOfHour(time) AS hour, tenant,
    toUInt8(src_tenant = tenant) AS owns_source, toUInt8(dst_tenant = tenant) AS owns_destination,
    if(src_tenant = tenant, src_account, dst_account) AS account,
    verdict, drop_reason_desc, dst_scope, l4_protocol, destination_port,
    toInt64(count()) AS flows
FROM flows
ARRAY JOIN arrayDistinct(arrayFilter(x -> x != '', [src_tenant, dst_tenant])) AS tenant
GROUP BY hour, tenant, owns_source, owns_destination, account, verdict, drop_reason_desc, dst_scope, l4_protocol, destination_port;

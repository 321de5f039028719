-- The smallest minute rollup: no owner columns, only what an operator's counts over time group and
-- filter by (verdict, drop reason, address scopes, protocols, destination port). Where many flows
-- share none of their owners (tens of thousands of allocations talking to random peers), the
-- owner-keyed rollups (0041, 0042) have about one row per flow; this one has a few hundred rows a
-- minute whatever the traffic. The aggregate planner (query-api/src/queries/rollup.ts) takes the
-- narrowest rollup holding a question's columns, so an operator's timeseries and protocol/port
-- breakdowns read this table; anything naming an owner (a tenant principal's scope included)
-- reads 0041/0042. Late re-attribution changes owners only, so nothing here moves; `time` is an
-- alias of `minute` as in the other rollups.
CREATE TABLE IF NOT EXISTS flows_minute_core
(
    minute DateTime('UTC'),
    time DateTime('UTC') ALIAS minute,
    src_scope Enum8('unknown' = 0, 'same-tenant' = 1, 'other-tenant' = 2, 'platform' = 3, 'metadata' = 4, 'private' = 5, 'link-local' = 6, 'world' = 7),
    dst_scope Enum8('unknown' = 0, 'same-tenant' = 1, 'other-tenant' = 2, 'platform' = 3, 'metadata' = 4, 'private' = 5, 'link-local' = 6, 'world' = 7),
    verdict Enum8('VERDICT_UNKNOWN' = 0, 'FORWARDED' = 1, 'DROPPED' = 2, 'ERROR' = 3, 'AUDIT' = 4, 'REDIRECTED' = 5, 'TRACED' = 6, 'TRANSLATED' = 7),
    drop_reason_desc LowCardinality(String),
    l4_protocol Enum8('NONE' = 0, 'TCP' = 1, 'UDP' = 2, 'ICMPv4' = 3, 'ICMPv6' = 4, 'SCTP' = 5, 'VRRP' = 6, 'IGMP' = 7),
    l7_protocol Enum8('none' = 0, 'dns' = 1, 'http' = 2, 'kafka' = 3),
    destination_port UInt16,
    flows Int64
)
ENGINE = SummingMergeTree(flows)
PARTITION BY toYYYYMM(minute)
ORDER BY (minute, verdict, src_scope, dst_scope, drop_reason_desc, l4_protocol, l7_protocol, destination_port)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS flows_minute_core_mv TO flows_minute_core AS
SELECT
    toStartOfMinute(time) AS minute,
    src_scope, dst_scope, verdict, drop_reason_desc, l4_protocol, l7_protocol, destination_port,
    toInt64(count()) AS flows
FROM flows
GROUP BY minute, src_scope, dst_scope, verdict, drop_reason_desc, l4_protocol, l7_protocol, destination_port;

INSERT INTO flows_minute_core (minute, src_scope, dst_scope, verdict, drop_reason_desc, l4_protocol, l7_protocol, destination_port, flows)
SELECT
    toStartOfMinute(time) AS minute,
    src_scope, dst_scope, verdict, drop_reason_desc, l4_protocol, l7_protocol, destination_port,
    toInt64(count()) AS flows
FROM flows
GROUP BY minute, src_scope, dst_scope, verdict, drop_reason_desc, l4_protocol, l7_protocol, destination_port;

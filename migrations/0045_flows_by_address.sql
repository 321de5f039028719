-- "Everything that touched this address" as a key lookup at either end. `flows` is ordered by
-- (toStartOfHour(time), source_ip, time), so a source address is a primary-key range in each hour,
-- but a destination or post-SNAT address was found through bloom filters that, at scale, match
-- most granules. This narrow table holds, for every other address a flow carries (destination_ip
-- and source_xlated), the flow's (hour, source_ip): the prefix of the flows primary key. A query
-- for address X reads X's few rows here (a key range), then reads `flows` WHERE
-- (toStartOfHour(time), source_ip) IN (those pairs), which ClickHouse turns into primary-key ranges
-- (common/filter/sql.ts addressLookupSql). The original address condition stays in the query, so
-- answers are exactly those of a scan; the index only decides which granules are read.
--
-- One row per (address, hour, source_ip): repeats within a batch are grouped by the view and
-- across batches folded by ReplacingMergeTree; the IN set ignores repeats anyway. The unset
-- address (::) is not indexed, so a prefix containing it is not looked up here.
--
-- Retention follows the flows it points at, which expire by ingest time (received_at): each row
-- keeps how many hours after its flow hour the latest of its flows arrived (0 for live traffic,
-- large for an imported capture), the version ReplacingMergeTree keeps, and expires after that
-- plus the flows' retention (plus one hour, the granularity). A row outliving its flows costs a
-- few bytes and one empty granule read, never a wrong answer.
--
-- The view runs inside the flows insert, so the batch's insert_deduplication_token covers it (a
-- skipped duplicate batch adds no index rows); the target needs the same dedup window (as 0041).
CREATE TABLE IF NOT EXISTS flows_by_address
(
    address IPv6 CODEC(ZSTD(1)),
    hour DateTime('UTC') CODEC(Delta, ZSTD(1)),
    source_ip IPv6 CODEC(ZSTD(1)),
    received_lag_hours UInt32 CODEC(ZSTD(1))
)
ENGINE = ReplacingMergeTree(received_lag_hours)
PARTITION BY toDate(hour)
ORDER BY (address, hour, source_ip)
TTL hour + toIntervalHour(received_lag_hours + 1) + toIntervalDay({ttl_days})
SETTINGS non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS flows_by_address_mv TO flows_by_address AS
SELECT
    address,
    toStartOfHour(time) AS hour,
    source_ip,
    toUInt32(greatest(0, dateDiff('hour', hour, max(received_at)))) AS received_lag_hours
FROM flows
ARRAY JOIN arrayFilter(a -> a != toIPv6('::'), [destination_ip, source_xlated]) AS address
GROUP BY address, hour, source_ip;

-- Flows stored before this migration: indexed once here, row by row (no GROUP BY, so a large store
-- needs no memory for it; ReplacingMergeTree folds the repeats, and rows the view also indexed
-- while this ran).
INSERT INTO flows_by_address
SELECT
    address,
    toStartOfHour(time) AS hour,
    source_ip,
    toUInt32(greatest(0, dateDiff('hour', hour, received_at))) AS received_lag_hours
FROM flows
ARRAY JOIN arrayFilter(a -> a != toIPv6('::'), [destination_ip, source_xlated]) AS address;

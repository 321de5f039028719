-- Where late owners can be: one row per (hour, address) of every flow end stored with attribution
-- source `none` (its owner unknown at ingest). A query that also matches such ends by their owner at
-- the flow's time (query-api/src/filters/late-owner.ts) must read the address and source columns of
-- every flow of its range to find them, 60-90 ms of a one-hour tenant page at 100M flows even when
-- there are none. With this table a page first asks which addresses of its range some allocation
-- held (query-api/src/queries/late-end-addresses.ts): a few rows, usually none; the late terms then
-- look at those addresses only, and drop out when there are none. Answers are those without it.
--
-- What keeps that exact: every end stored as `none` gets its row (the view runs inside every insert
-- into flows; the backfill below covers what was stored before), and nothing turns a stored end
-- into `none` later (the correction job, common/ownership/correct.ts, only turns `none` into an
-- owner; its ends keep their rows, which then cost one address in a set, never an answer).
--
-- Ordered by hour first: a page asks about one range for every address an allocation held, so its
-- rows of the range are one key range; small granules (a late address is a few rows among the
-- world addresses of its hour). Repeats are grouped by the view and folded by ReplacingMergeTree.
-- Retention and dedup as flows_by_address (0045): a row lives as long as the flows it stands for.
CREATE TABLE IF NOT EXISTS flows_unattributed_ends
(
    hour DateTime('UTC') CODEC(Delta, ZSTD(1)),
    address IPv6 CODEC(ZSTD(1)),
    received_lag_hours UInt32 CODEC(ZSTD(1))
)
ENGINE = ReplacingMergeTree(received_lag_hours)
PARTITION BY toDate(hour)
ORDER BY (hour, address)
TTL hour + toIntervalHour(received_lag_hours + 1) + toIntervalDay({ttl_days})
SETTINGS non_replicated_deduplication_window = 10000, index_granularity = 1024;

CREATE MATERIALIZED VIEW IF NOT EXISTS flows_unattributed_ends_mv TO flows_unattributed_ends AS
SELECT
    toStartOfHour(time) AS hour,
    address,
    toUInt32(greatest(0, dateDiff('hour', hour, max(received_at)))) AS received_lag_hours
FROM flows
ARRAY JOIN arrayFilter(a -> a != toIPv6('::'), [
    if(src_source = 'none', source_ip, toIPv6('::')),
    if(dst_source = 'none', destination_ip, toIPv6('::'))]) AS address
WHERE src_source = 'none' OR dst_source = 'none'
GROUP BY hour, address;

-- Flows stored before this migration, row by row (no GROUP BY, so a large store needs no memory for
-- it; ReplacingMergeTree folds the repeats, and the rows the view also wrote while this ran).
INSERT INTO flows_unattributed_ends
SELECT
    toStartOfHour(time) AS hour,
    address,
    toUInt32(greatest(0, dateDiff('hour', hour, received_at))) AS received_lag_hours
FROM flows
ARRAY JOIN arrayFilter(a -> a != toIPv6('::'), [
    if(src_source = 'none', source_ip, toIPv6('::')),
    if(dst_source = 'none', destination_ip, toIPv6('::'))]) AS address
WHERE src_source = 'none' OR dst_source = 'none';

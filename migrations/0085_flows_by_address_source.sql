-- Source addresses in the address index (migrations/0045 `flows_by_address`): one row per
-- (source_ip, hour) with the source address itself as the key prefix. `source_ip = X` is already a
-- primary-key range inside each hour bucket of `flows`, but the sparse index cannot tell that X sent
-- nothing in a bucket: each part still reads one granule per hour bucket where X would sit. For an
-- address that is rarely or never a source (a world address in "everything that touched X", 24 h)
-- those empty reads are most of the cost. With the source rows, the lookup of X yields only the
-- (hour, source_ip) pairs of hours where X really sent (and, as before, those of the flows that
-- reached X), so common/filter/sql.ts also narrows a source-address condition through it. The
-- condition itself stays in the query: answers are those of a scan.
--
-- Cost: one row per source address and hour (the view groups each batch; ReplacingMergeTree folds
-- the repeats across batches), far fewer than the destination rows. Retention and dedup as 0045.
CREATE MATERIALIZED VIEW IF NOT EXISTS flows_by_address_source_mv TO flows_by_address AS
SELECT
    source_ip AS address,
    toStartOfHour(time) AS hour,
    source_ip,
    toUInt32(greatest(0, dateDiff('hour', hour, max(received_at)))) AS received_lag_hours
FROM flows
WHERE source_ip != toIPv6('::')
GROUP BY address, hour, source_ip;

-- Flows stored before this migration, indexed once here (grouped: one row per source and hour, a
-- few hundred thousand groups a day at the design's scale).
INSERT INTO flows_by_address
SELECT
    source_ip AS address,
    toStartOfHour(time) AS hour,
    source_ip,
    toUInt32(greatest(0, dateDiff('hour', hour, max(received_at)))) AS received_lag_hours
FROM flows
WHERE source_ip != toIPv6('::')
GROUP BY address, hour, source_ip;

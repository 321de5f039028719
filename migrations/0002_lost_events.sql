-- Lost events: every LostEvent a Hubble source reported (ring buffer overflow, perf ring loss,
-- relay queue drops), so an investigator knows where the record has holes.
CREATE TABLE IF NOT EXISTS lost_events
(
    time DateTime64(9, 'UTC'),
    target LowCardinality(String),
    node_name LowCardinality(String),
    source LowCardinality(String),
    num_events_lost UInt64,
    cpu Int32,
    -- The window the loss falls in: from the last flow seen before it to the loss report.
    window_start DateTime64(9, 'UTC'),
    window_end DateTime64(9, 'UTC')
)
ENGINE = MergeTree
PARTITION BY toDate(time)
ORDER BY (target, time)
TTL toDateTime(time) + INTERVAL {ttl_days} DAY;

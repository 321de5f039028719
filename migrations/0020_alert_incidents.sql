-- Alert incidents: one row per write of an incident (a rule firing for one owner: tenant,
-- account, allocation), folded by ReplacingMergeTree on `version`, so creating, updating,
-- acknowledging and resolving are all plain inserts. Merges are eventual: every reader uses
-- FINAL (or argMax by version) to see only the newest state of each incident.
--
-- ORDER BY (id): incidents are few (thousands, not billions); lookups are by id or scan the
-- whole table filtered by status, rule and tenant.
CREATE TABLE IF NOT EXISTS alert_incidents
(
    id String,
    rule LowCardinality(String),
    severity Enum8('info' = 1, 'low' = 2, 'medium' = 3, 'high' = 4, 'critical' = 5),
    status Enum8('open' = 1, 'acknowledged' = 2, 'resolved' = 3),
    -- The owner the incident is about (empty strings when not known).
    tenant LowCardinality(String),
    account LowCardinality(String),
    alloc_id String,
    alloc_name String,
    namespace LowCardinality(String),
    job LowCardinality(String),
    node LowCardinality(String),
    summary String,
    first_seen DateTime64(9, 'UTC'),
    last_seen DateTime64(9, 'UTC'),
    -- Matching flow events (each counted once although windows overlap).
    count UInt64,
    -- Evaluation windows that fired.
    detections UInt32,
    -- The largest value of the rule's measure in one window (distinct hosts, ports, events/s…).
    peak Float64,
    -- Flow events up to this instant are already in `count`.
    counted_until DateTime64(9, 'UTC'),
    window_start DateTime64(9, 'UTC'),
    window_end DateTime64(9, 'UTC'),
    source_addresses Array(String),
    destination_addresses Array(String),
    ports Array(UInt16),
    -- What the rule grouped on inside the owner (swept ports, scanned hosts, DNS names…).
    keys Array(String),
    -- Sample flows as a JSON array.
    samples String,
    evidence_url String,
    acknowledged_by String,
    acknowledged_at DateTime64(3, 'UTC'),
    resolved_by String,
    resolved_at DateTime64(3, 'UTC'),
    note String,
    created_at DateTime64(3, 'UTC'),
    updated_at DateTime64(3, 'UTC'),
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (id);

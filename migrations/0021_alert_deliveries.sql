-- Webhook deliveries: one row per delivery of an incident event to a target, written when the
-- delivery ends (delivered, failed after its retries, or refused by the SSRF guard), with every
-- attempt's status code (0 = no HTTP answer) and latency. The target's URL is not stored:
-- Slack-style URLs carry secrets; the target name and host identify it.
CREATE TABLE IF NOT EXISTS alert_deliveries
(
    id String,
    incident_id String,
    rule LowCardinality(String),
    event LowCardinality(String),
    target LowCardinality(String),
    host String,
    format LowCardinality(String),
    outcome Enum8('delivered' = 1, 'failed' = 2, 'refused' = 3),
    attempts UInt16,
    status_codes Array(UInt16),
    latencies_ms Array(UInt32),
    error String,
    started_at DateTime64(3, 'UTC'),
    finished_at DateTime64(3, 'UTC')
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(started_at)
ORDER BY (started_at, incident_id)
TTL toDateTime(started_at) + INTERVAL 90 DAY;

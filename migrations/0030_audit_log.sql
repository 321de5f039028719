-- Audit log: one row per flows, attribution, investigation, export, audit and Hubble API request,
-- with who asked (token name and role, never the token), what they asked (parameters as JSON),
-- how many rows they got and how it ended. Forensic records are kept without a TTL.
CREATE TABLE IF NOT EXISTS audit_log
(
    time DateTime64(9, 'UTC'),
    request_id String,
    token_name LowCardinality(String),
    role LowCardinality(String),
    tenant LowCardinality(String),
    action LowCardinality(String),
    transport LowCardinality(String),
    method LowCardinality(String),
    path String,
    parameters String,
    rows UInt64,
    outcome LowCardinality(String),
    status UInt16,
    error String,
    duration_ms UInt32,
    remote_addr String
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(time)
ORDER BY (time, token_name);

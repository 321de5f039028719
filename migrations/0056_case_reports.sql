-- Abuse reports (X-ARF, ARF) that opened a case, kept verbatim as evidence of what was reported.
CREATE TABLE IF NOT EXISTS case_reports
(
    case_id String,
    received_at DateTime64(9, 'UTC'),
    received_by LowCardinality(String),
    format LowCardinality(String),
    category String,
    raw String
)
ENGINE = MergeTree
ORDER BY (case_id, received_at);

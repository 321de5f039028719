-- Investigations: each saved case (the request and the ranked accounts found), so an
-- investigator can come back to it, export it, and the audit log can point at it. The tenant
-- column holds the scope it was computed under (empty for unrestricted roles).
CREATE TABLE IF NOT EXISTS investigations
(
    id String,
    created_at DateTime64(9, 'UTC'),
    created_by LowCardinality(String),
    role LowCardinality(String),
    tenant LowCardinality(String),
    request String,
    result String
)
ENGINE = ReplacingMergeTree
ORDER BY id;

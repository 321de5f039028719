-- Cases: the working state of a saved investigation (status, assignee, linked incidents) and
-- its notes. Each change is a new row (the latest by updated_at wins), so the history stays in
-- the table as well as in the audit log.
CREATE TABLE IF NOT EXISTS case_state
(
    id String,
    updated_at DateTime64(9, 'UTC'),
    updated_by LowCardinality(String),
    status Enum8('open' = 1, 'escalated' = 2, 'closed' = 3),
    assignee String,
    linked_incidents Array(String)
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY id;

CREATE TABLE IF NOT EXISTS case_notes
(
    case_id String,
    at DateTime64(9, 'UTC'),
    author LowCardinality(String),
    text String
)
ENGINE = MergeTree
ORDER BY (case_id, at);

-- Ownership: who held an address when. One row per (address, owner) interval: a Nomad
-- allocation holding its CNI address (kind 'alloc'), or a client node holding a host address
-- (kind 'node'). An interval starts at the ModifyTime of the first allocation update that
-- carried the address and ends at the ModifyTime of the update that made the allocation
-- terminal (events carry no time of their own).
--
-- Open intervals end at 2262-01-01 00:00:00 (the far end of DateTime64(9)), not NULL: every
-- write of an interval is then a row whose `start` can only move earlier and whose `end` can
-- only move earlier as facts arrive, so readers merge rows with min(start), min(end) and
-- re-applying the same events (after a reconnect or a re-list) can never double an interval or
-- reopen a closed one; `end > t` needs no NULL handling and no Nullable column costs.
--
-- ORDER BY (address, kind, alloc_id, node_id): every lookup names an address ("who held X at T",
-- re-attribution of a flow end), so the address is the primary-key prefix and reads one granule
-- range; the few intervals of one address are then merged and filtered by time. The rest of the
-- key identifies the interval, so ReplacingMergeTree folds repeated writes of it (the latest
-- Nomad index wins); readers still aggregate, because merges are eventual.
CREATE TABLE IF NOT EXISTS ownership
(
    address IPv6,
    kind Enum8('alloc' = 1, 'node' = 2),
    alloc_id String,
    alloc_name String,
    namespace LowCardinality(String),
    job LowCardinality(String),
    `group` LowCardinality(String),
    node_id String,
    node_name LowCardinality(String),
    tenant LowCardinality(String),
    account LowCardinality(String),
    start DateTime64(9, 'UTC'),
    `end` DateTime64(9, 'UTC'),
    -- The Nomad raft index of the latest update folded into this row (allocation ModifyIndex).
    nomad_index UInt64,
    recorded_at DateTime64(9, 'UTC')
)
ENGINE = ReplacingMergeTree(nomad_index)
ORDER BY (address, kind, alloc_id, node_id);

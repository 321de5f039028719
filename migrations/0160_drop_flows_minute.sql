-- `flows_minute` (0041) dropped: `flows_minute_detail` (0042) keeps every column it kept (the same
-- owner fields of both ends and more, the same flow columns and more) under the same leading key,
-- so the aggregate planner answers its questions from the detail rollup (common/clickhouse/rollups.ts).
--
-- Why: it cost a view at every insert and bytes on disk for answers another rollup already gives.
-- On the generator's flows the detail rollup holds about as many rows per minute (an allocation
-- names its namespace, job and node, so the detail adds little but the L7 protocol); on the 100M
-- scale store, where almost every (minute, owner, port) is distinct, the two held 98.3M and 98.7M
-- rows, and `flows_minute` kept 7.7 B of the 69.4 B per flow on disk (`flowtrail bench --scale
-- 100000000`, time-ordered fill, 2026-12-03). `flowtrail bench --json`, insert of the same rows into
-- `flows` with its views: 6.8 µs of CPU per flow before, 5.2 after (one run each, 2026-12-03).
--
-- A cluster drops both on every shard (common/clickhouse/cluster.ts).
DROP VIEW IF EXISTS flows_minute_mv;
DROP TABLE IF EXISTS flows_minute;

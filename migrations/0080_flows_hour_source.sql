-- Hourly rollup by source address (issue 13, "top talkers" at scale): flows and their verdict per
-- (hour, source address). Ranking sources over a day reads about (source addresses x 24 x
-- verdicts) rows here instead of every flow of the day; the query API then reads the peers, ports
-- and owner of only the top N from `flows`, whose primary key leads with (hour, source_ip)
-- (query-api/src/queries/dashboards.ts top). A coarser resolution than the minute rollups
-- (0041-0043), as Akvorado keeps several: the planner (query-api/src/queries/rollup.ts) takes it
-- for ranges on whole hours, or long ranges rounded out to whole hours (the answer says which
-- range it covers).
--
-- No owner columns: a late-owner correction (common/ownership/correct.ts) changes owners and
-- scopes only, so nothing here moves. Signed counter and dedup window as in 0041; no TTL (rows
-- are few: about one per source address per hour and verdict).
CREATE TABLE IF NOT EXISTS flows_hour_source
(
    hour DateTime('UTC') CODEC(Delta, ZSTD(1)),
    time DateTime('UTC') ALIAS hour,
    source_ip IPv6 CODEC(ZSTD(1)),
    verdict Enum8('VERDICT_UNKNOWN' = 0, 'FORWARDED' = 1, 'DROPPED' = 2, 'ERROR' = 3, 'AUDIT' = 4, 'REDIRECTED' = 5, 'TRACED' = 6, 'TRANSLATED' = 7),
    flows Int64 CODEC(T64, ZSTD(1))
)
ENGINE = SummingMergeTree(flows)
PARTITION BY toYYYYMM(hour)
ORDER BY (hour, source_ip, verdict)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS flows_hour_source_mv TO flows_hour_source AS
SELECT toStartOfHour(time) AS hour, source_ip, verdict, toInt64(count()) AS flows
FROM flows
GROUP BY hour, source_ip, verdict;

INSERT INTO flows_hour_source (hour, source_ip, verdict, flows)
SELECT toStartOfHour(time) AS hour, source_ip, verdict, toInt64(count()) AS flows
FROM flows
GROUP BY hour, source_ip, verdict;

-- Distinct peers and ports of each source address per hour and verdict, as `uniq` states (issue 13,
-- top sources at scale): the companion of flows_hour_source (0080). Top sources ranks its N
-- winners from 0080, then needs their distinct destinations and ports over the range; read from
-- `flows` that is one granule per winner, hour and part (about 10 x 25 x parts granules of 8,192
-- rows for 10 winners over a day). Here, ordered by source address first, the winners' rows over
-- the range are a few granules (query-api/src/queries/dashboards.ts top). `last_flow`, the latest
-- (time, flow_id), finds each winner's latest flow, whose owner top shows, by primary key and the
-- flow_id bloom filter: one granule, not one per part of its last hour.
--
-- One answer either way: the states of hours merge into exactly the state one pass over the same
-- flows builds (a `uniq` state is the set of hashes kept at the smallest sampling degree that fits,
-- whatever the order they arrive in; `flows` itself merges per-thread states the same way), so
-- `uniqMerge` here equals `uniq` over `flows`, which `source=flows` computes (tests in
-- query-api/src/http/rollup.int.test.ts compare both). Verdict is a key so a verdict filter, the
-- only other column 0080 has, selects the same flows here.
--
-- Cost: a state holds 4 bytes per distinct peer of a (source, hour, verdict); on the synthetic
-- scale fill, where nearly every flow has a new peer, about 4 B/flow; far less where sources talk
-- to a steady set of peers. No owner columns: a late-owner correction moves nothing here. Dedup
-- window as 0041; no TTL (as 0080).
CREATE TABLE IF NOT EXISTS flows_hour_source_peers
(
    source_ip IPv6 CODEC(ZSTD(1)),
    hour DateTime('UTC') CODEC(Delta, ZSTD(1)),
    time DateTime('UTC') ALIAS hour,
    verdict Enum8('VERDICT_UNKNOWN' = 0, 'FORWARDED' = 1, 'DROPPED' = 2, 'ERROR' = 3, 'AUDIT' = 4, 'REDIRECTED' = 5, 'TRACED' = 6, 'TRANSLATED' = 7),
    peers AggregateFunction(uniq, IPv6),
    ports AggregateFunction(uniq, UInt16),
    -- The latest flow (time, flow_id): its owner is the winner's owner in top (argMax by time).
    last_flow SimpleAggregateFunction(max, Tuple(DateTime64(9, 'UTC'), FixedString(16)))
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (source_ip, hour, verdict)
-- Small granules: a source's rows over a day are about 50, and a granule of states is read whole.
SETTINGS non_replicated_deduplication_window = 10000, index_granularity = 256;

CREATE MATERIALIZED VIEW IF NOT EXISTS flows_hour_source_peers_mv TO flows_hour_source_peers AS
SELECT source_ip, toStartOfHour(time) AS hour, verdict,
    uniqState(destination_ip) AS peers, uniqState(destination_port) AS ports, max((time, flow_id)) AS last_flow
FROM flows
GROUP BY hour, source_ip, verdict;

-- Flows stored before this migration: one state per flow (arrayReduce, no GROUP BY), so the
-- backfill needs no memory for groups whatever the store holds (a GROUP BY would keep a state per
-- source, hour and verdict of the whole store). Each inserted block is folded by its key as it is
-- written (optimize_on_insert, the default; flows are read in (hour, source address) order, so a
-- block holds few keys), background merges fold the rest.
INSERT INTO flows_hour_source_peers (source_ip, hour, verdict, peers, ports, last_flow)
SELECT source_ip, toStartOfHour(time) AS hour, verdict,
    arrayReduce('uniqState', [destination_ip]) AS peers, arrayReduce('uniqState', [destination_port]) AS ports,
    (time, flow_id) AS last_flow
FROM flows;

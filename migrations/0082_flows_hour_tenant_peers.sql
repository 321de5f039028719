-- Distinct peers of each tenant per hour, as fixed-size sketches (issue 13, tenant summary): for
-- each tenant and direction (`out`: the tenant owns the source, the peers are destinations;
-- `in`: it owns the destination, the peers are sources) a uniqCombined(12) state (at most 3 KiB
-- whatever the traffic, about 1.6% error once past a few hundred peers), and the first and last
-- flow time. States of hours merge into the same state one pass over the flows builds, so the
-- summary computes `uniqCombined(12)` on `flows` too and both tables give one answer
-- (query-api/src/queries/dashboards.ts tenantSummary).
--
-- Late attribution: a correction only gives an owner to an end stored as `none`, so a tenant
-- never loses a flow; the correction job adds the newly owned flows' states (registered in
-- common/clickhouse/rollups.ts); a state merged twice counts nothing twice.
CREATE TABLE IF NOT EXISTS flows_hour_tenant_peers
(
    hour DateTime('UTC') CODEC(Delta, ZSTD(1)),
    tenant LowCardinality(String),
    direction Enum8('out' = 1, 'in' = 2),
    peers AggregateFunction(uniqCombined(12), IPv6),
    first_seen SimpleAggregateFunction(min, DateTime64(9, 'UTC')),
    last_seen SimpleAggregateFunction(max, DateTime64(9, 'UTC'))
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (tenant, hour, direction)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS flows_hour_tenant_peers_mv TO flows_hour_tenant_peers AS
SELECT
    toStartOfHour(time) AS hour, e.1 AS tenant, e.2 AS direction,
    uniqCombinedState(12)(e.3) AS peers, min(time) AS first_seen, max(time) AS last_seen
FROM flows
ARRAY JOIN arrayFilter(x -> x.1 != '', [(src_tenant, 'out', destination_ip), (dst_tenant, 'in', source_ip)]) AS e
GROUP BY hour, tenant, direction;

INSERT INTO flows_hour_tenant_peers (hour, tenant, direction, peers, first_seen, last_seen)
SELECT
    toStartOfHour(time) AS hour, e.1 AS tenant, e.2 AS direction,
    uniqCombinedState(12)(e.3) AS peers, min(time) AS first_seen, max(time) AS last_seen
FROM flows
ARRAY JOIN arrayFilter(x -> x.1 != '', [(src_tenant, 'out', destination_ip), (dst_tenant, 'in', source_ip)]) AS e
GROUP BY hour, tenant, direction;

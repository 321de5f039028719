-- First port-25 flow to the world per tenant, for the smtp-egress rule's "first-ever port-25
-- flow of a tenant" (GuardDuty's Spambot first-seen heuristic). A materialized view keeps the
-- minimum as flows are inserted, so the rule reads a tiny table instead of all history, and
-- late or backfilled flows still move the minimum earlier: min() is exact in any arrival order
-- and repeated inserts of the same flow change nothing. Only flows inserted after the view
-- exists are seen, hence the one-off INSERT … SELECT over flows already stored.
CREATE TABLE IF NOT EXISTS alert_port25_first_seen
(
    tenant LowCardinality(String),
    first_seen SimpleAggregateFunction(min, DateTime64(9, 'UTC'))
)
ENGINE = AggregatingMergeTree
ORDER BY tenant;

CREATE MATERIALIZED VIEW IF NOT EXISTS alert_port25_first_seen_mv TO alert_port25_first_seen AS
SELECT src_tenant AS tenant, min(time) AS first_seen
FROM flows
WHERE destination_port = 25 AND dst_scope = 'world' AND src_tenant != '' AND l4_protocol = 'TCP'
GROUP BY src_tenant;

INSERT INTO alert_port25_first_seen
SELECT src_tenant AS tenant, min(time) AS first_seen
FROM flows
WHERE destination_port = 25 AND dst_scope = 'world' AND src_tenant != '' AND l4_protocol = 'TCP'
GROUP BY src_tenant;

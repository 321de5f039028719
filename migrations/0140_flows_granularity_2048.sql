-- `flows` rebuilt with granules of 2,048 rows (was 8,192), keeping everything else: columns,
-- codecs, skip indexes, TTL and the settings the earlier migrations set (`CREATE TABLE … AS flows`
-- copies the definition as it stands).
--
-- Why: a row-listing page (one pod or world address at either end, a tenant's dropped flows, newest
-- first) returns rows scattered over many granules, and each scattered row costs one compressed block
-- of every one of ~110 column streams. With 0110's granule-sized blocks, a smaller granule is a
-- smaller block: measured on copies of a 3M-flow bench store, the five listing questions decompress
-- 2.7x less than at 8,192 (4.2x for one world address over 24 h) for +4.1% bytes per flow; scans and
-- rollups are unchanged (they read the views' tables). The skip indexes keep GRANULARITY 4, so each
-- now covers 8,192 rows instead of 32,768: the destination and flow-id bloom filters and the tenant
-- sets prune 4x finer. `index_granularity` cannot be altered, hence the copy.
--
-- Cost: a copy of every stored flow, once (measured on the 100M scale store: see the note of issue
-- 13). Run it with ingest stopped (`flowtrail` runs migrations before it starts ingesting): flows
-- inserted into the old table while the copy runs are not in it. The views follow the name `flows`
-- (EXCHANGE keeps their dependency on the name), so they go on firing for the new table; rollups are
-- not touched. Not folded correction patches are applied by the read, so the copy holds corrected
-- owners. The insert-deduplication log starts empty: one batch that was in flight at the upgrade and
-- is replayed after it with the same token is stored again (the in-memory resume window still
-- drops replayed flows of a Relay resume).
--
-- Re-runnable: a copy left by a crash is dropped first; a crash after the exchange re-copies the
-- already rebuilt table. A cluster's `flows_local` is rebuilt by its operator (deploy/README.md):
-- the cluster form of these statements is none (common/clickhouse/cluster.ts).
DROP TABLE IF EXISTS flows_rebuild;
CREATE TABLE flows_rebuild AS flows SETTINGS index_granularity = 2048;
INSERT INTO flows_rebuild SELECT * FROM flows;
EXCHANGE TABLES flows AND flows_rebuild;
DROP TABLE flows_rebuild;

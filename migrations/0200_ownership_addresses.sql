-- `ownership_addresses`: every address some allocation ever held (the `ownership` rows of kind
-- 'alloc'), once. Only such an address can have a late owner, so a page first intersects its
-- window's ends stored as nobody's (flows_unattributed_ends, 0180) with this set
-- (query-api/src/filters/late-owner.ts heldAddressesSql), and investigations do the same.
--
-- Why: `SELECT DISTINCT address FROM ownership WHERE kind = 'alloc'` reads every interval, in the
-- 64-row granules that make "who held X at T" a point lookup (0150): on the 100M scale store
-- (80,000 intervals, 1,251 granules) 22-24 ms, most of a tenant page's late-address read
-- (26 ms); from this table (20,000 rows in 8,192-row granules) 2 ms, and the read 11 ms.
--
-- Addresses are only added (a view on every insert into `ownership`, and a backfill here): one
-- whose intervals are gone stays, which makes the set larger than needed, never too small.
CREATE TABLE IF NOT EXISTS ownership_addresses
(
    address IPv6 CODEC(ZSTD(1))
)
ENGINE = ReplacingMergeTree
ORDER BY address;

CREATE MATERIALIZED VIEW IF NOT EXISTS ownership_addresses_mv TO ownership_addresses AS
SELECT DISTINCT address FROM ownership WHERE kind = 'alloc';

INSERT INTO ownership_addresses SELECT DISTINCT address FROM ownership WHERE kind = 'alloc';

-- `ownership` rebuilt with granules of 64 rows (was 8,192), keeping everything else (`CREATE TABLE …
-- AS ownership` copies the definition as it stands).
--
-- Why: every page of flows is attributed with one ownership lookup of the page's addresses
-- (common/ownership/who.ts intervalsFor, by the primary key `address`), but those addresses are
-- scattered over the key (a pod's peers, a tenant's sources), so at 8,192 rows a granule a page
-- reads every granule of the table: at the scale bench's 80,000 intervals, 65-80k rows per page for
-- 28-188 addresses, whatever the page. With 64-row granules the same lookups read 1.3k-8k rows (same
-- answers), and "who held X at T" one granule of 64 rows instead of 8,192. Measured on a copy of the
-- 30M scale store (the note of issue 13). The table is small (tens of bytes per interval), so the
-- finer index costs little memory: 80,000 intervals are 1,250 marks.
--
-- Cost: a copy of the ownership table (80,000 rows: 230 ms on a loaded 2-core machine). Run with the tracker
-- stopped (migrations run before ingest starts). Re-runnable as 0140. A cluster's `ownership_local`
-- is rebuilt by its operator (no cluster form, as 0140).
DROP TABLE IF EXISTS ownership_rebuild;
CREATE TABLE ownership_rebuild AS ownership SETTINGS index_granularity = 64;
INSERT INTO ownership_rebuild SELECT * FROM ownership;
EXCHANGE TABLES ownership AND ownership_rebuild;
DROP TABLE ownership_rebuild;

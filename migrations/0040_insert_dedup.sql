-- Insert deduplication without reading the table: every flow batch carries an
-- insert_deduplication_token (collector/src/writer/flow-insert.ts), and ClickHouse skips a batch
-- whose token it has seen among the last N inserts. Replicated tables keep such a window by default
-- (replicated_deduplication_window); a single server's MergeTree (chdb, a plain server) needs it
-- set. 10,000 inserts is hours of 100,000-flow batches at full rate; repeats of single flows are
-- caught before the insert by the writers' bounded window of recent ids.
ALTER TABLE flows MODIFY SETTING non_replicated_deduplication_window = 10000;

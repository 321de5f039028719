-- Late-owner correction bounded by the late ownership (common/ownership/correct.ts). A run no
-- longer reads every flow of its time range that is stored as nobody's: it reads only the flows
-- of the ownership intervals recorded since the ownership an earlier run examined, by address and
-- hour through the primary key of `flows` (the source end) and through `flows_by_address`
-- (migration 0045, the destination end). Two things make that possible:
--
-- 1. What each run examined: the ownership rows recorded before `examined_to` (the run's start,
--    server clock), for the ends of flows in [since_ns, until_ns) (0 and the Int64 maximum when
--    unbounded). Written once a batch has recorded all its ends; the next run over a range this
--    one covers examines only rows recorded after it (less an overlap, see correct.ts).
CREATE TABLE IF NOT EXISTS flow_owner_correction_scans
(
    batch String,
    since_ns Int64,
    until_ns Int64,
    examined_to DateTime64(9, 'UTC'),
    at DateTime64(9, 'UTC')
)
ENGINE = MergeTree
ORDER BY (examined_to, batch);

-- 2. Where each recorded end's flow lies in the primary key of `flows` ((toStartOfHour(time),
--    source_ip, time)), so the later steps of a batch read its flows' granules, not every flow of
--    its hours. Rows recorded before this column existed hold '::' and are read by time span.
ALTER TABLE flow_owner_corrections ADD COLUMN IF NOT EXISTS source_ip IPv6 DEFAULT toIPv6('::') AFTER time;

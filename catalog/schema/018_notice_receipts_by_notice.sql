-- 018_notice_receipts_by_notice.sql - a notice's receipt rows side by side
-- (issue 10, the store before the push). Keyed (site_id, notice_id), every
-- station's row of a new notice landed in a different page of the table
-- and the notice_id index took a second row: storing a notice to the
-- province wrote ~16,000 scattered pages, more as notices accumulated
-- (30 ms of CPU for the first, 210 ms for the hundredth, sqlite3 shell on
-- this 2-core VM). Keyed (notice_id, site_id), a notice's rows are one
-- range appended at the end of the table (21 ms each, the hundredth
-- too), its acks update that range, and its per-region counts read it.
-- A site's replay ("every notice above N not yet acknowledged") walks
-- notices above N and looks its row up in each.
CREATE TABLE notice_sites_new (
    notice_id    INTEGER NOT NULL REFERENCES notices(id),
    site_id      INTEGER NOT NULL,
    delivered_ms INTEGER,
    read_ms      INTEGER,
    PRIMARY KEY (notice_id, site_id)
) WITHOUT ROWID;
INSERT INTO notice_sites_new(notice_id, site_id, delivered_ms, read_ms)
    SELECT notice_id, site_id, delivered_ms, read_ms FROM notice_sites
    ORDER BY notice_id, site_id;
DROP INDEX notice_sites_notice;
DROP TABLE notice_sites;
ALTER TABLE notice_sites_new RENAME TO notice_sites;

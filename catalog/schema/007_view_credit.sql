-- 005_view_credit.sql - watch credit bounded by the server's clock
-- (cat_views.c, docs/api.md "Watch credit"). A session keeps what its
-- events claimed (claimed_s, from their ts gaps) apart from what it was
-- credited (watched_s <= claimed_s), the station backlog it drew on
-- (backlog_s), and whether a cap ever cut its credit (capped).
ALTER TABLE sessions ADD COLUMN claimed_s REAL NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN backlog_s REAL NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN capped INTEGER NOT NULL DEFAULT 0;
UPDATE sessions SET claimed_s = watched_s;

-- Per station: when the server last received an event from it, and the
-- backlog its sessions may still draw on (seconds), open until
-- backlog_until_ms: the length of the silence that ended then, for
-- events queued offline during it. One row per station, written once
-- per transaction that touched it.
CREATE TABLE site_credit (
    site_id          INTEGER PRIMARY KEY,
    last_recv_ms     INTEGER NOT NULL,
    backlog_s        REAL    NOT NULL DEFAULT 0,
    backlog_until_ms INTEGER NOT NULL DEFAULT 0
);
INSERT INTO site_credit(site_id, last_recv_ms)
    SELECT site_id, max(last_ms) FROM sessions GROUP BY site_id;

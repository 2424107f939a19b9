-- 004_view_events_arrival.sql - view_events in arrival order (a rowid
-- table) instead of clustered by (session, seq): one transaction of single
-- events from many sessions dirtied one B-tree leaf per session, and the
-- WAL wrote ~4 KB per event. Idempotence on (session, seq) now comes from
-- the session row: its highest seq (last_seq) and the ranges below it that
-- never arrived (holes, "a-b,c-d", the highest 8), kept by the writer
-- (cat_views.c).

-- The holes first, while view_events is still in (session, seq) order.
ALTER TABLE sessions ADD COLUMN holes TEXT;
WITH g AS (
    SELECT session_id, seq,
           lag(seq) OVER (PARTITION BY session_id ORDER BY seq) AS prev
    FROM view_events),
gaps AS (
    SELECT session_id, coalesce(prev, 0) + 1 AS a, seq - 1 AS b,
           row_number() OVER (PARTITION BY session_id ORDER BY seq DESC) AS k
    FROM g WHERE seq > coalesce(prev, 0) + 1),
h AS (
    SELECT session_id, group_concat(a || '-' || b) AS holes
    FROM gaps WHERE k <= 8 GROUP BY session_id)
UPDATE sessions SET holes = h.holes FROM h WHERE sessions.id = h.session_id;

CREATE TABLE view_events_new (
    session_id INTEGER NOT NULL,
    seq        INTEGER NOT NULL,
    kind       INTEGER NOT NULL,           -- 0 start, 1 beat, 2 end
    position_s REAL    NOT NULL,
    ts_ms      INTEGER,                    -- client clock, may be NULL
    recv_ms    INTEGER NOT NULL,
    credited_s REAL    NOT NULL
);
INSERT INTO view_events_new
    SELECT session_id, seq, kind, position_s, ts_ms, recv_ms, credited_s
    FROM view_events ORDER BY recv_ms, session_id, seq;
DROP TABLE view_events;
ALTER TABLE view_events_new RENAME TO view_events;

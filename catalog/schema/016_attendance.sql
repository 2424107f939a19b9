-- 016_attendance.sql - meeting attendance from view events of kind live
-- (issue 13): an event naming "meeting" instead of "lesson" feeds one row
-- per viewing session here, and its (meeting, station) row of
-- meeting_sites (012: joined_ms, left_ms, watched_s, devices, headcount)
-- is recomputed from these rows in the same transaction (cat_attend.c).
-- A device keeps one session per meeting (player-web live.js), so the
-- sessions of a station are its devices.
CREATE TABLE meeting_sessions (
    id         INTEGER PRIMARY KEY,
    skey       TEXT    NOT NULL UNIQUE,    -- the client's session string
    meeting_id INTEGER NOT NULL REFERENCES meetings(id),
    site_id    INTEGER NOT NULL,
    client     TEXT,
    start_ms   INTEGER NOT NULL,           -- receipt of the first event
    last_ms    INTEGER NOT NULL,           -- receipt of the latest event
    last_seq   INTEGER NOT NULL,           -- highest seq seen
    last_clock INTEGER NOT NULL,           -- its ts (or receipt) in ms
    watched_s  REAL    NOT NULL DEFAULT 0,
    ended      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX meeting_sessions_site ON meeting_sessions(meeting_id, site_id);

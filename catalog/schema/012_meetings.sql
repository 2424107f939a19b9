-- 012_meetings.sql - live meetings (issue 13): a meeting, its source, the
-- regions it is sent to, and one row per targeted station (the stations
-- below its targets, as notices), which attendance fills in later.

CREATE TABLE meetings (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    title      TEXT    NOT NULL,
    starts_at  TEXT,                       -- as the admin gave it (ISO 8601)
    source     TEXT    NOT NULL,           -- URI: srt://, rtsp://, file://, test:
    targets    TEXT    NOT NULL,           -- JSON array of codes as given
    owner_id   INTEGER NOT NULL REFERENCES sites(id), -- creator's region
    token_id   INTEGER,
    n_sites    INTEGER NOT NULL DEFAULT 0,
    state      TEXT    NOT NULL DEFAULT 'scheduled'
               CHECK (state IN ('scheduled', 'live', 'ended', 'failed')),
    error      TEXT,                       -- why it failed
    created_ms INTEGER NOT NULL,
    started_ms INTEGER,
    ended_ms   INTEGER
);
CREATE INDEX meetings_state ON meetings(state);

-- Targeted stations; joined/left/watched/devices/headcount are attendance.
CREATE TABLE meeting_sites (
    site_id    INTEGER NOT NULL,
    meeting_id INTEGER NOT NULL REFERENCES meetings(id),
    joined_ms  INTEGER,
    left_ms    INTEGER,
    watched_s  INTEGER NOT NULL DEFAULT 0,
    devices    INTEGER NOT NULL DEFAULT 0,
    headcount  INTEGER,
    PRIMARY KEY (site_id, meeting_id)
) WITHOUT ROWID;
CREATE INDEX meeting_sites_meeting ON meeting_sites(meeting_id);

-- 001_init.sql - the catalog's first schema.
-- Sites: id is the numeric national division code (unique across levels:
-- codes have 2, 4, 6, 9 or 12 digits and never start with 0).
CREATE TABLE sites (
    id        INTEGER PRIMARY KEY,
    code      TEXT    NOT NULL UNIQUE,
    parent_id INTEGER REFERENCES sites(id),
    level     INTEGER NOT NULL CHECK (level BETWEEN 1 AND 5),
    name      TEXT    NOT NULL,
    lang      TEXT,                        -- own default language or NULL
    stations  INTEGER NOT NULL DEFAULT 0   -- townships+villages in subtree
);
CREATE INDEX sites_parent ON sites(parent_id, code);

CREATE TABLE tokens (
    id         INTEGER PRIMARY KEY,
    hash       BLOB    NOT NULL UNIQUE,    -- SHA-256 of the token text
    role       TEXT    NOT NULL CHECK (role IN ('admin', 'site')),
    scope_id   INTEGER NOT NULL REFERENCES sites(id),
    name       TEXT,
    created_ms INTEGER NOT NULL,
    expires_ms INTEGER,                    -- NULL: never
    revoked    INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE lessons (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    state        TEXT NOT NULL DEFAULT 'pending'
                 CHECK (state IN ('pending', 'ready', 'failed', 'deleted')),
    category     TEXT,
    source_name  TEXT,
    duration_s   REAL,
    languages    TEXT,                     -- JSON array of audio tags
    subtitles    TEXT,                     -- JSON array of subtitle tags
    meta         TEXT,                     -- lesson.json as published
    created_ms   INTEGER NOT NULL,
    published_ms INTEGER,
    deleted_ms   INTEGER
);
CREATE INDEX lessons_state ON lessons(state, id);
CREATE INDEX lessons_category ON lessons(category, state, id);

CREATE TABLE lesson_titles (
    id        INTEGER PRIMARY KEY,
    lesson_id INTEGER NOT NULL REFERENCES lessons(id),
    lang      TEXT    NOT NULL,
    title     TEXT    NOT NULL,
    UNIQUE (lesson_id, lang)
);
-- Substring search in any script: trigram for 3+ characters.
CREATE VIRTUAL TABLE lesson_titles_fts USING fts5(
    title, content = 'lesson_titles', content_rowid = 'id',
    tokenize = 'trigram');
CREATE TRIGGER lesson_titles_ai AFTER INSERT ON lesson_titles BEGIN
    INSERT INTO lesson_titles_fts(rowid, title) VALUES (new.id, new.title);
END;
CREATE TRIGGER lesson_titles_ad AFTER DELETE ON lesson_titles BEGIN
    INSERT INTO lesson_titles_fts(lesson_titles_fts, rowid, title)
        VALUES ('delete', old.id, old.title);
END;
CREATE TRIGGER lesson_titles_au AFTER UPDATE ON lesson_titles BEGIN
    INSERT INTO lesson_titles_fts(lesson_titles_fts, rowid, title)
        VALUES ('delete', old.id, old.title);
    INSERT INTO lesson_titles_fts(rowid, title) VALUES (new.id, new.title);
END;

-- Languages of a published lesson, for ?lang= (audio or subtitles).
CREATE TABLE lesson_langs (
    lang      TEXT    NOT NULL,
    lesson_id INTEGER NOT NULL REFERENCES lessons(id),
    PRIMARY KEY (lang, lesson_id)
) WITHOUT ROWID;

CREATE TABLE jobs (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    lesson_id  INTEGER NOT NULL REFERENCES lessons(id),
    state      TEXT    NOT NULL DEFAULT 'queued'
               CHECK (state IN ('queued', 'running', 'done', 'failed')),
    progress   REAL    NOT NULL DEFAULT 0,
    attempts   INTEGER NOT NULL DEFAULT 0,
    error      TEXT,
    dir        TEXT    NOT NULL,
    inputs     TEXT    NOT NULL,           -- JSON
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL
);
CREATE INDEX jobs_state ON jobs(state, id);

-- One viewing of one lesson at one site.
CREATE TABLE sessions (
    id         INTEGER PRIMARY KEY,
    skey       TEXT    NOT NULL UNIQUE,    -- the client's session string
    site_id    INTEGER NOT NULL REFERENCES sites(id),
    lesson_id  INTEGER NOT NULL REFERENCES lessons(id),
    client     TEXT,
    audio_lang TEXT,
    rendition  TEXT,
    start_ms   INTEGER NOT NULL,           -- receipt of the first event
    last_ms    INTEGER NOT NULL,           -- receipt of the latest event
    last_seq   INTEGER NOT NULL,           -- highest seq seen
    last_clock INTEGER NOT NULL,           -- its ts (or receipt) in ms
    watched_s  REAL    NOT NULL DEFAULT 0,
    furthest_s REAL    NOT NULL DEFAULT 0,
    ended      INTEGER NOT NULL DEFAULT 0,
    completed  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX sessions_site ON sessions(site_id, start_ms);
CREATE INDEX sessions_last ON sessions(last_ms);

-- Every accepted event; (session, seq) makes ingest idempotent.
CREATE TABLE view_events (
    session_id INTEGER NOT NULL,
    seq        INTEGER NOT NULL,
    kind       INTEGER NOT NULL,           -- 0 start, 1 beat, 2 end
    position_s REAL    NOT NULL,
    ts_ms      INTEGER,                    -- client clock, may be NULL
    recv_ms    INTEGER NOT NULL,
    credited_s REAL    NOT NULL,
    PRIMARY KEY (session_id, seq)
) WITHOUT ROWID;

-- Daily rollups (CST days since 1970-01-01), kept in the same transaction
-- as the events.
CREATE TABLE roll_site_lesson_day (
    site_id     INTEGER NOT NULL,
    day         INTEGER NOT NULL,
    lesson_id   INTEGER NOT NULL,
    watched_s   REAL    NOT NULL DEFAULT 0,
    sessions    INTEGER NOT NULL DEFAULT 0,
    completions INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (site_id, day, lesson_id)
) WITHOUT ROWID;

-- Every region (and station) of an event's ancestry, keyed so that the
-- children of one region over a range of days are one index range.
CREATE TABLE roll_region_day (
    parent_id   INTEGER NOT NULL,          -- 0 for a province
    day         INTEGER NOT NULL,
    region_id   INTEGER NOT NULL,
    watched_s   REAL    NOT NULL DEFAULT 0,
    sessions    INTEGER NOT NULL DEFAULT 0,
    completions INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (parent_id, day, region_id)
) WITHOUT ROWID;
CREATE INDEX roll_region_day_region ON roll_region_day(region_id, day);

-- Days a station was active, one bit per day from base_day, keyed by the
-- text code so a region's stations are one prefix range.
CREATE TABLE site_activity (
    code     TEXT    PRIMARY KEY,
    base_day INTEGER NOT NULL,
    bits     BLOB    NOT NULL
) WITHOUT ROWID;

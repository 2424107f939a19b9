-- 009_notices.sql - the websocket channel (issue 10): a read-only "viewer"
-- role for wall displays, and notices pushed to sites with per-site
-- delivery receipts.

-- SQLite cannot change a CHECK constraint in place: the tokens table is
-- rebuilt with the new role allowed (nothing references it by key).
CREATE TABLE tokens_new (
    id         INTEGER PRIMARY KEY,
    hash       BLOB    NOT NULL UNIQUE,    -- SHA-256 of the token text
    role       TEXT    NOT NULL CHECK (role IN ('admin', 'site', 'viewer')),
    scope_id   INTEGER NOT NULL REFERENCES sites(id),
    name       TEXT,
    created_ms INTEGER NOT NULL,
    expires_ms INTEGER,                    -- NULL: never
    revoked    INTEGER NOT NULL DEFAULT 0
);
INSERT INTO tokens_new SELECT id, hash, role, scope_id, name, created_ms,
    expires_ms, revoked FROM tokens;
DROP TABLE tokens;
ALTER TABLE tokens_new RENAME TO tokens;
-- One site token per site made by `token create --each-site` (the newest
-- unrevoked one is the site's; --rotate revokes and makes a new one).
CREATE INDEX tokens_scope ON tokens(scope_id, role, revoked);

-- A notice as sent: stored (with one row per targeted site) before it is
-- pushed to anyone.
CREATE TABLE notices (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    title        TEXT    NOT NULL,
    body         TEXT    NOT NULL,         -- plain text, paragraphs by \n
    attachments  TEXT    NOT NULL DEFAULT '[]', -- JSON array
    targets      TEXT    NOT NULL,         -- JSON array of codes as given
    from_id      INTEGER NOT NULL REFERENCES sites(id), -- sender's region
    token_id     INTEGER,                  -- the sender's token
    n_sites      INTEGER NOT NULL,
    sent_ms      INTEGER NOT NULL,
    withdrawn_ms INTEGER
);

-- Receipts: the first delivered and read time per site. The key makes a
-- site's replay ("every notice above N not yet acknowledged") one range.
CREATE TABLE notice_sites (
    site_id      INTEGER NOT NULL,
    notice_id    INTEGER NOT NULL REFERENCES notices(id),
    delivered_ms INTEGER,
    read_ms      INTEGER,
    PRIMARY KEY (site_id, notice_id)
) WITHOUT ROWID;
CREATE INDEX notice_sites_notice ON notice_sites(notice_id);

-- A notice's attachment (a PDF or an image, its type checked by content),
-- stored as DATA/attachments/<file> and served only to the sites a notice
-- carrying it was sent to (and to admins of its owner's region).
CREATE TABLE attachments (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    type       TEXT    NOT NULL CHECK (type IN ('application/pdf',
                   'image/jpeg', 'image/png', 'image/webp')),
    name       TEXT    NOT NULL,           -- the uploader's file name
    bytes      INTEGER NOT NULL,
    file       TEXT    NOT NULL UNIQUE,    -- name under DATA/attachments/
    owner_id   INTEGER NOT NULL REFERENCES sites(id),
    created_ms INTEGER NOT NULL
);

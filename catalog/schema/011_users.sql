-- 011_users.sql - people who sign in to the admin console (issue 12).
-- Machines (TVs, scripts, walls) keep their bearer tokens; people have a
-- name and a password and get a session cookie.

CREATE TABLE users (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL UNIQUE,
    pwhash     TEXT    NOT NULL,          -- crypto_pwhash_str (Argon2id)
    role       TEXT    NOT NULL CHECK (role IN ('admin', 'viewer')),
    scope_id   INTEGER NOT NULL REFERENCES sites(id),
    disabled   INTEGER NOT NULL DEFAULT 0,
    created_ms INTEGER NOT NULL,
    changed_ms INTEGER NOT NULL           -- last password change
);

-- One row per sign-in. Only the SHA-256 of the cookie's random value is
-- stored; the CSRF token is not a credential on its own (it is useless
-- without the cookie) and is kept as is so GET /api/v1/session can repeat
-- it after a page reload.
CREATE TABLE user_sessions (
    id         INTEGER PRIMARY KEY,
    hash       BLOB    NOT NULL UNIQUE,
    user_id    INTEGER NOT NULL REFERENCES users(id),
    csrf       TEXT    NOT NULL,
    created_ms INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL,
    revoked    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX user_sessions_user ON user_sessions(user_id, revoked);

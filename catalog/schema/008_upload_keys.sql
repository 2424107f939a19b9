-- Idempotency-Key of POST /api/v1/lessons (issue 8): an upload retried
-- with the same key by the same token (the client never saw its 202, a
-- village link dropped) answers with the lesson and job the first attempt
-- created, instead of creating a duplicate. A key whose lesson has been
-- deleted no longer counts: a retry after the delete uploads anew.
CREATE TABLE upload_keys (
    token_id   INTEGER NOT NULL,
    key        TEXT NOT NULL,
    lesson_id  INTEGER NOT NULL REFERENCES lessons(id) ON DELETE CASCADE,
    job_id     INTEGER NOT NULL,
    created_ms INTEGER NOT NULL,
    PRIMARY KEY (token_id, key)
) WITHOUT ROWID;
CREATE INDEX upload_keys_lesson ON upload_keys(lesson_id);

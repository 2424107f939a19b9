-- 006_job_cancelled.sql - a job whose lesson is deleted is "cancelled":
-- never claimed, never retried, its sources removed. SQLite cannot change
-- a CHECK constraint in place, so jobs is rebuilt (nothing references it)
-- with its rows, ids and AUTOINCREMENT sequence as they were.
CREATE TABLE jobs_new (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    lesson_id     INTEGER NOT NULL REFERENCES lessons(id),
    state         TEXT    NOT NULL DEFAULT 'queued'
                  CHECK (state IN ('queued', 'running', 'done', 'failed',
                                   'cancelled')),
    progress      REAL    NOT NULL DEFAULT 0,
    attempts      INTEGER NOT NULL DEFAULT 0,
    error         TEXT,
    dir           TEXT    NOT NULL,
    inputs        TEXT    NOT NULL,        -- JSON
    created_ms    INTEGER NOT NULL,
    updated_ms    INTEGER NOT NULL,
    not_before_ms INTEGER NOT NULL DEFAULT 0
);
INSERT INTO jobs_new(id, lesson_id, state, progress, attempts, error, dir,
                     inputs, created_ms, updated_ms, not_before_ms)
    SELECT id, lesson_id, state, progress, attempts, error, dir, inputs,
           created_ms, updated_ms, not_before_ms FROM jobs;
-- Job ids name upload directories: never hand out one used before.
INSERT INTO sqlite_sequence(name, seq)
    SELECT 'jobs_new', seq FROM sqlite_sequence WHERE name = 'jobs'
    AND NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'jobs_new');
UPDATE sqlite_sequence
    SET seq = max(seq, (SELECT seq FROM sqlite_sequence WHERE name = 'jobs'))
    WHERE name = 'jobs_new'
    AND EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'jobs');
DROP TABLE jobs;
ALTER TABLE jobs_new RENAME TO jobs;
CREATE INDEX jobs_state ON jobs(state, id);

-- 003_job_retry.sql - a job requeued after a transient failure waits before
-- its next attempt (job_retry_delay, doubling per attempt), so a full disk
-- or a crashing machine is not hit three times within a second.
ALTER TABLE jobs ADD COLUMN not_before_ms INTEGER NOT NULL DEFAULT 0;

-- 002_sessions_index.sql - nothing reads sessions by site (statistics come
-- from the rollups); the index only cost one random B-tree insert per new
-- session on the ingest path.
DROP INDEX IF EXISTS sessions_site;

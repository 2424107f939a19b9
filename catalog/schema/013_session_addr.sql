-- 013: the network address a viewing session last reported from (the
-- village's own, also through an edge: X-Forwarded-For from a trusted
-- proxy, docs/scaling.md). NULL for sessions before this step and for
-- events without one (tools, benchmarks).
ALTER TABLE sessions ADD COLUMN addr TEXT;

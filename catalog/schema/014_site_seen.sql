-- 014: when a station was last seen on the channel (ms): written when its
-- first device connects and when its last one leaves, batched by the
-- streamer (str_ws.c). NULL: never connected since this step. The
-- console's "last seen".
ALTER TABLE sites ADD COLUMN seen_ms INTEGER;

-- 017_meeting_audio.sql - a meeting's declared audio tracks (issue 13,
-- interpreter audio): a JSON array, in rendition order, of normalised
-- BCP-47 tags ("zh") or {"lang": "bo", "source": "srt://..."} for an
-- interpreter's own audio-only SRT feed. NULL: none declared (a network
-- source's first track as Mandarin, a file's probed tracks, test:'s two).
ALTER TABLE meetings ADD COLUMN audio TEXT;

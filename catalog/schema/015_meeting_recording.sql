-- 015_meeting_recording.sql - what became of a meeting's recording (issue
-- 13): the lesson and transcode job made from it when it stopped, or why
-- there is none.
--   rec_state NULL     never ended since this step (or never started)
--             'job'    rec_lesson_id/rec_job_id hold the lesson and its job
--             'none'   stopped before a whole segment was recorded
--             'off'    the server's live_record was off
--             'lost'   recorded, but the lesson could not be created (the
--                      server's log says why; the files stay for an operator)
ALTER TABLE meetings ADD COLUMN rec_state TEXT
    CHECK (rec_state IN ('job', 'none', 'off', 'lost'));
ALTER TABLE meetings ADD COLUMN rec_lesson_id INTEGER REFERENCES lessons(id);
ALTER TABLE meetings ADD COLUMN rec_job_id INTEGER REFERENCES jobs(id);

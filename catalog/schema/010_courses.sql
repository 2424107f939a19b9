-- 009_courses.sql - courses (issue 11): a series of lessons in an order.
-- A course belongs to a region like a lesson (owner_id: the scope of the
-- admin who made it; NULL is province-wide). A lesson belongs to at most
-- one course; course_index is the author's order key (1, 2, 3 ...; gaps
-- allowed, ties broken by lesson id). Lists show the order among the
-- course's published lessons, so a pending, failed or deleted lesson
-- leaves no hole.
CREATE TABLE courses (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    title      TEXT    NOT NULL,
    owner_id   INTEGER REFERENCES sites(id),
    created_ms INTEGER NOT NULL
);
-- Naming a course by title at upload finds the uploader's region's one.
CREATE INDEX courses_owner_title ON courses(owner_id, title);

ALTER TABLE lessons ADD COLUMN course_id INTEGER REFERENCES courses(id);
ALTER TABLE lessons ADD COLUMN course_index INTEGER;
CREATE INDEX lessons_course ON lessons(course_id, course_index, id)
    WHERE course_id IS NOT NULL;

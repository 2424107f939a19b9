-- 005_lesson_owner.sql - a lesson belongs to a region: the scope of the
-- admin token that uploaded it. Deleting the lesson and reading its job
-- need an admin whose region contains the owner (a county admin no longer
-- acts on the province's lessons). NULL means province-wide: only a
-- province admin acts on it.
ALTER TABLE lessons ADD COLUMN owner_id INTEGER REFERENCES sites(id);

-- Lessons uploaded before owners existed were the province's: when the
-- catalog holds exactly one province they become its; with several (or
-- none) they stay NULL, province-wide.
UPDATE lessons SET owner_id = (SELECT id FROM sites WHERE parent_id IS NULL)
WHERE (SELECT count(*) FROM sites WHERE parent_id IS NULL) = 1;

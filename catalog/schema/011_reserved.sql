-- 011_reserved.sql - a placeholder. Step 011 belongs to a branch developed
-- in parallel (the admin console); embed.cmake wants the steps numbered
-- without a gap, so this branch (live meetings, 012) carries an empty 011
-- until that branch's step lands. Replace this file with it on merge.
SELECT 1;

DROP INDEX packages_depends_idx;
ALTER TABLE packages DROP COLUMN depends;
DROP INDEX packages_name_trgm_idx;
DROP INDEX packages_search_idx;
ALTER TABLE packages DROP COLUMN search;

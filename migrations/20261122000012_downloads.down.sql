DROP INDEX packages_downloads_idx;
ALTER TABLE packages DROP COLUMN downloads;
DROP TABLE package_downloads;
DROP TABLE release_downloads;

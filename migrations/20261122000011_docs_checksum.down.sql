ALTER TABLE releases DROP COLUMN docs_checksum;

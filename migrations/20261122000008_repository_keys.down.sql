ALTER TABLE repositories DROP COLUMN signing_key_sealed;

DROP TABLE password_resets;
ALTER TABLE emails DROP COLUMN verification_sent_at;
ALTER TABLE emails DROP COLUMN verification_key_hash;

ALTER TABLE sessions DROP COLUMN tfa_pending;
DROP TABLE recovery_codes;
DROP TABLE user_tfa;

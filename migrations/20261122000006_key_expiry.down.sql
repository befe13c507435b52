ALTER TABLE keys DROP COLUMN revoke_at;

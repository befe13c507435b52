-- a key may be created with a time after which it stops working
ALTER TABLE keys ADD COLUMN revoke_at timestamptz;

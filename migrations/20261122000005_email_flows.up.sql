-- Email confirmation and password reset keys, kept as SHA-256; both last 24 hours.
ALTER TABLE emails ADD COLUMN verification_key_hash bytea;
ALTER TABLE emails ADD COLUMN verification_sent_at timestamptz;

CREATE TABLE password_resets (
    id          bigserial PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users ON DELETE CASCADE,
    key_hash    bytea NOT NULL UNIQUE,
    email       text NOT NULL,
    used_at     timestamptz,
    inserted_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX password_resets_user_id_idx ON password_resets (user_id);

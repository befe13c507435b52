-- TOTP 2FA: the secret sealed with AES-256-GCM under the server secret; the last step used and
-- who used it enforce single use (the same holder may repeat a code within its window).
CREATE TABLE user_tfa (
    user_id       bigint PRIMARY KEY REFERENCES users ON DELETE CASCADE,
    secret_sealed bytea NOT NULL,
    enabled       boolean NOT NULL DEFAULT false,
    last_step     bigint,
    last_holder   text,
    inserted_at   timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- single-use recovery codes, kept as SHA-256
CREATE TABLE recovery_codes (
    id        bigserial PRIMARY KEY,
    user_id   bigint NOT NULL REFERENCES users ON DELETE CASCADE,
    code_hash bytea NOT NULL,
    used_at   timestamptz
);
CREATE INDEX recovery_codes_user_id_idx ON recovery_codes (user_id);

-- a session whose password was right but whose second factor is still to come
ALTER TABLE sessions ADD COLUMN tfa_pending boolean NOT NULL DEFAULT false;

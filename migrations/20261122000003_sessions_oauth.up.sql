-- Browser sessions: the cookie's token is kept only as a SHA-256.
CREATE TABLE sessions (
    id           bigserial PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES users ON DELETE CASCADE,
    token_hash   bytea NOT NULL UNIQUE,
    csrf_token   text NOT NULL,
    ip           text,
    user_agent   text,
    inserted_at  timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz
);
CREATE INDEX sessions_user_id_idx ON sessions (user_id);

-- OAuth 2.0 device authorizations (RFC 8628), pending until the user approves or denies.
CREATE TABLE device_authorizations (
    id               bigserial PRIMARY KEY,
    device_code_hash bytea NOT NULL UNIQUE,
    user_code        text NOT NULL UNIQUE,
    client_id        text NOT NULL,
    client_name      text,
    scopes           text[] NOT NULL,
    status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'denied', 'used')),
    user_id          bigint REFERENCES users ON DELETE CASCADE,
    granted_scopes   text[],
    interval_seconds integer NOT NULL,
    last_polled_at   timestamptz,
    expires_at       timestamptz NOT NULL,
    inserted_at      timestamptz NOT NULL DEFAULT now()
);

-- OAuth grants: one per device approval or key exchange; every token pair it issues belongs to it,
-- so revoking by a refresh token's hash ends the whole grant.
CREATE TABLE oauth_grants (
    id          bigserial PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users ON DELETE CASCADE,
    client_id   text NOT NULL,
    scopes      text[] NOT NULL,
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz,
    inserted_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE oauth_tokens (
    id                 bigserial PRIMARY KEY,
    grant_id           bigint NOT NULL REFERENCES oauth_grants ON DELETE CASCADE,
    access_hash        bytea NOT NULL UNIQUE,
    refresh_hash       bytea UNIQUE,
    access_expires_at  timestamptz NOT NULL,
    refresh_expires_at timestamptz,
    revoked_at         timestamptz,
    inserted_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX oauth_tokens_grant_id_idx ON oauth_tokens (grant_id);

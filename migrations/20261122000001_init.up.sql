-- Repositories: the instance's public one now, organizations' later. Every package belongs to one.
CREATE TABLE repositories (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    public      boolean NOT NULL DEFAULT false,
    inserted_at timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    id            bigserial PRIMARY KEY,
    username      text NOT NULL,
    full_name     text,
    password_hash text,
    inserted_at   timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
-- usernames are case-insensitive, as on hex.pm
CREATE UNIQUE INDEX users_username_key ON users (lower(username));

CREATE TABLE emails (
    id          bigserial PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users ON DELETE CASCADE,
    email       text NOT NULL,
    verified    boolean NOT NULL DEFAULT false,
    is_primary  boolean NOT NULL DEFAULT false,
    is_public   boolean NOT NULL DEFAULT false,
    inserted_at timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX emails_email_key ON emails (lower(email));
CREATE INDEX emails_user_id_idx ON emails (user_id);

-- API keys: the secret is never stored, only its HMAC under the server secret; the first
-- characters of the secret find the candidates.
CREATE TABLE keys (
    id                  bigserial PRIMARY KEY,
    user_id             bigint NOT NULL REFERENCES users ON DELETE CASCADE,
    name                text NOT NULL,
    secret_prefix       text NOT NULL,
    secret_hmac         bytea NOT NULL,
    permissions         jsonb NOT NULL,
    revoked_at          timestamptz,
    last_used_at        timestamptz,
    last_use_ip         text,
    last_use_user_agent text,
    inserted_at         timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX keys_secret_prefix_idx ON keys (secret_prefix) WHERE revoked_at IS NULL;
CREATE UNIQUE INDEX keys_user_name_key ON keys (user_id, name) WHERE revoked_at IS NULL;

CREATE TABLE packages (
    id            bigserial PRIMARY KEY,
    repository_id bigint NOT NULL REFERENCES repositories,
    name          text NOT NULL,
    -- description, licenses, links, maintainers, extra
    meta          jsonb NOT NULL,
    inserted_at   timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (repository_id, name)
);

CREATE TABLE releases (
    id                 bigserial PRIMARY KEY,
    package_id         bigint NOT NULL REFERENCES packages ON DELETE CASCADE,
    version            text NOT NULL,
    inner_checksum     bytea NOT NULL,
    outer_checksum     bytea NOT NULL,
    -- app, build_tools, elixir, files
    meta               jsonb NOT NULL,
    publisher_id       bigint REFERENCES users ON DELETE SET NULL,
    has_docs           boolean NOT NULL DEFAULT false,
    retirement_reason  text,
    retirement_message text,
    inserted_at        timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    UNIQUE (package_id, version)
);
CREATE INDEX releases_outer_checksum_idx ON releases (outer_checksum);

CREATE TABLE requirements (
    id                    bigserial PRIMARY KEY,
    release_id            bigint NOT NULL REFERENCES releases ON DELETE CASCADE,
    dependency_name       text NOT NULL,
    dependency_repository text NOT NULL,
    app                   text NOT NULL,
    requirement           text NOT NULL,
    optional              boolean NOT NULL
);
CREATE INDEX requirements_release_id_idx ON requirements (release_id);
CREATE INDEX requirements_dependency_idx ON requirements (dependency_repository, dependency_name);

CREATE TABLE package_owners (
    package_id  bigint NOT NULL REFERENCES packages ON DELETE CASCADE,
    user_id     bigint NOT NULL REFERENCES users ON DELETE CASCADE,
    level       text NOT NULL CHECK (level IN ('full', 'maintainer')),
    inserted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (package_id, user_id)
);
CREATE INDEX package_owners_user_id_idx ON package_owners (user_id);

CREATE TABLE audit_logs (
    id          bigserial PRIMARY KEY,
    user_id     bigint REFERENCES users ON DELETE SET NULL,
    key_id      bigint REFERENCES keys ON DELETE SET NULL,
    action      text NOT NULL,
    params      jsonb NOT NULL,
    ip          text,
    user_agent  text,
    inserted_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_logs_user_id_idx ON audit_logs (user_id);

-- Signed, gzipped registry resources (names, versions, packages/NAME): derived from the tables
-- above, kept so that a server starts serving without re-signing everything.
CREATE TABLE registry_resources (
    repository_id bigint NOT NULL REFERENCES repositories ON DELETE CASCADE,
    path          text NOT NULL,
    body          bytea NOT NULL,
    etag          text NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (repository_id, path)
);

-- The caching mirror of an upstream Hex repository (hex.pm by default). Bodies live in the blob
-- store under mirror/, content-addressed; these rows say what each upstream path holds, so that
-- replicas share one cache.

-- Signed registry resources (names, versions, packages/NAME), the installs CSV and its
-- signature, and docs tarballs: revalidated with the upstream after an age.
CREATE TABLE mirror_resources (
    path text PRIMARY KEY,
    sha256 bytea NOT NULL CHECK (octet_length(sha256) = 32),
    size bigint NOT NULL,
    upstream_etag text,
    fetched_at timestamptz NOT NULL,
    checked_at timestamptz NOT NULL
);
-- whether a replaced body is still held by another path
CREATE INDEX mirror_resources_sha256 ON mirror_resources (sha256);

-- Package tarballs, immutable once cached (their checksum is the signed one).
CREATE TABLE mirror_tarballs (
    package text NOT NULL,
    version text NOT NULL,
    outer_checksum bytea NOT NULL CHECK (octet_length(outer_checksum) = 32),
    size bigint NOT NULL,
    fetched_at timestamptz NOT NULL,
    PRIMARY KEY (package, version)
);

-- `hexyard mirror sync` runs, for `hexyard mirror status`.
CREATE TABLE mirror_syncs (
    id bigserial PRIMARY KEY,
    started_at timestamptz NOT NULL,
    finished_at timestamptz,
    packages bigint NOT NULL DEFAULT 0,
    tarballs bigint NOT NULL DEFAULT 0,
    failures bigint NOT NULL DEFAULT 0
);

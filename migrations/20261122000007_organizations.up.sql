-- Organizations: each owns a private repository of its own; members hold a role.
CREATE TABLE organizations (
    id            bigserial PRIMARY KEY,
    name          text NOT NULL UNIQUE,
    repository_id bigint NOT NULL UNIQUE REFERENCES repositories,
    seats         integer NOT NULL DEFAULT 10 CHECK (seats >= 1),
    inserted_at   timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE organization_members (
    organization_id bigint NOT NULL REFERENCES organizations ON DELETE CASCADE,
    user_id         bigint NOT NULL REFERENCES users ON DELETE CASCADE,
    role            text NOT NULL CHECK (role IN ('admin', 'write', 'read')),
    inserted_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_id, user_id)
);
CREATE INDEX organization_members_user_id_idx ON organization_members (user_id);

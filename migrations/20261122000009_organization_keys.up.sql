-- keys belong to a user or to an organization (for CI with no user behind it)
ALTER TABLE keys ALTER COLUMN user_id DROP NOT NULL;
ALTER TABLE keys ADD COLUMN organization_id bigint REFERENCES organizations ON DELETE CASCADE;
ALTER TABLE keys ADD CONSTRAINT keys_one_owner CHECK ((user_id IS NULL) <> (organization_id IS NULL));
CREATE UNIQUE INDEX keys_organization_name_key ON keys (organization_id, name) WHERE revoked_at IS NULL;

-- An organization may own a public package (a transfer to it); its members then act on the
-- package by role: admin as a full owner, write as a maintainer.
ALTER TABLE package_owners DROP CONSTRAINT package_owners_pkey;
ALTER TABLE package_owners ALTER COLUMN user_id DROP NOT NULL;
ALTER TABLE package_owners ADD COLUMN organization_id bigint REFERENCES organizations ON DELETE CASCADE;
ALTER TABLE package_owners ADD CONSTRAINT package_owners_one_owner
    CHECK ((user_id IS NULL) <> (organization_id IS NULL));
CREATE UNIQUE INDEX package_owners_user_key ON package_owners (package_id, user_id) WHERE user_id IS NOT NULL;
CREATE UNIQUE INDEX package_owners_organization_key ON package_owners (package_id, organization_id)
    WHERE organization_id IS NOT NULL;
CREATE INDEX package_owners_organization_id_idx ON package_owners (organization_id);

DELETE FROM package_owners WHERE organization_id IS NOT NULL;
DROP INDEX package_owners_organization_id_idx;
DROP INDEX package_owners_organization_key;
DROP INDEX package_owners_user_key;
ALTER TABLE package_owners DROP CONSTRAINT package_owners_one_owner;
ALTER TABLE package_owners DROP COLUMN organization_id;
ALTER TABLE package_owners ALTER COLUMN user_id SET NOT NULL;
ALTER TABLE package_owners ADD PRIMARY KEY (package_id, user_id);

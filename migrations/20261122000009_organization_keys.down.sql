DELETE FROM keys WHERE organization_id IS NOT NULL;
DROP INDEX keys_organization_name_key;
ALTER TABLE keys DROP CONSTRAINT keys_one_owner;
ALTER TABLE keys DROP COLUMN organization_id;
ALTER TABLE keys ALTER COLUMN user_id SET NOT NULL;

-- the signing key of an organization's repository, sealed with AES-256-GCM under the server secret
ALTER TABLE repositories ADD COLUMN signing_key_sealed bytea;

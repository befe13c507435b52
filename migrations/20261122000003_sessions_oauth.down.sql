DROP TABLE oauth_tokens;
DROP TABLE oauth_grants;
DROP TABLE device_authorizations;
DROP TABLE sessions;

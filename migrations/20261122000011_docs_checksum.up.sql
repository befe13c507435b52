-- The SHA-256 of a release's docs tarball: the docs site caches unpacked docs by it, so a
-- replaced upload can never be served stale, by this server or by another over the same store.
-- Releases whose docs were uploaded before this have has_docs without a checksum.
ALTER TABLE releases ADD COLUMN docs_checksum bytea;

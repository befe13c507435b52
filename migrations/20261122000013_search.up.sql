-- Package search: a weighted text vector kept by the database (the name's words, then the
-- description, then the string values of `extra`), a GIN index on it, trigrams for name
-- substrings and wildcards, and the dependencies of each package's latest release (stable
-- preferred) for `depends:`, kept by the server at every publish and revert.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

ALTER TABLE packages ADD COLUMN search tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('simple', name || ' ' || replace(name, '_', ' ')), 'A')
    || setweight(to_tsvector('english', coalesce(meta->>'description', '')), 'B')
    || setweight(jsonb_to_tsvector('english', coalesce(meta->'extra', '{}'::jsonb), '["string"]'), 'C')
) STORED;
-- without the pending list of fast updates: publishes are rare, searches many, and a search
-- would read the whole list until a vacuum empties it
CREATE INDEX packages_search_idx ON packages USING gin (search) WITH (fastupdate = off);
CREATE INDEX packages_name_trgm_idx ON packages USING gin (name gin_trgm_ops) WITH (fastupdate = off);

-- `NAME` and `REPOSITORY:NAME` for every requirement of the latest release
ALTER TABLE packages ADD COLUMN depends text[] NOT NULL DEFAULT '{}';
CREATE INDEX packages_depends_idx ON packages USING gin (depends) WITH (fastupdate = off);
UPDATE packages p SET depends = coalesce((
    SELECT array_agg(DISTINCT x ORDER BY x)
    FROM requirements q, LATERAL (VALUES (q.dependency_name), (q.dependency_repository || ':' || q.dependency_name)) AS n(x)
    WHERE q.release_id = (
        SELECT r.id FROM releases r WHERE r.package_id = p.id
        ORDER BY (r.version LIKE '%-%'), r.inserted_at DESC LIMIT 1
    )
), '{}');

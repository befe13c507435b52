-- Tarball downloads, counted in memory by each server and added here in batches: per release
-- per UTC day, per package per UTC day (the windows of the package's counts), and the
-- package's total (the download sorts).
CREATE TABLE release_downloads (
    release_id bigint NOT NULL REFERENCES releases ON DELETE CASCADE,
    day date NOT NULL,
    downloads bigint NOT NULL CHECK (downloads > 0),
    PRIMARY KEY (release_id, day)
);
CREATE TABLE package_downloads (
    package_id bigint NOT NULL REFERENCES packages ON DELETE CASCADE,
    day date NOT NULL,
    downloads bigint NOT NULL CHECK (downloads > 0),
    PRIMARY KEY (package_id, day)
);
ALTER TABLE packages ADD COLUMN downloads bigint NOT NULL DEFAULT 0;
CREATE INDEX packages_downloads_idx ON packages (downloads DESC, name);

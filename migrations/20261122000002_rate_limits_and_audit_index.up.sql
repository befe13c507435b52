-- Request counters per fixed window, shared by every server on this database.
CREATE TABLE rate_limits (
    bucket       text NOT NULL,
    window_start bigint NOT NULL,
    count        integer NOT NULL,
    PRIMARY KEY (bucket, window_start)
);

-- the audit log of a package is looked up by the package named in its entries
CREATE INDEX audit_logs_package_idx ON audit_logs ((params->>'package'), (params->>'repository'));

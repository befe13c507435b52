DROP INDEX audit_logs_package_idx;
DROP TABLE rate_limits;

//! The mirror's cache: which upstream path holds which blob, when it was fetched and last
//! checked with the upstream, and the runs of `hexyard mirror sync`.

use sqlx::PgExecutor;
use time::OffsetDateTime;

use crate::Result;

/// A cached upstream resource (`names`, `versions`, `packages/NAME`, the installs CSV, a docs
/// tarball).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Resource {
    pub path: String,
    pub sha256: Vec<u8>,
    pub size: i64,
    pub upstream_etag: Option<String>,
    pub fetched_at: OffsetDateTime,
    pub checked_at: OffsetDateTime,
}

/// A cached package tarball.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Tarball {
    pub package: String,
    pub version: String,
    pub outer_checksum: Vec<u8>,
    pub size: i64,
    pub fetched_at: OffsetDateTime,
}

/// The blob key of a resource body.
pub fn resource_key(sha256: &[u8]) -> String {
    let hex = crate::blobs::hex_lower(sha256);
    format!("mirror/resources/{}/{hex}", &hex[..2])
}

/// The blob key of a mirrored tarball.
pub fn tarball_key(outer_checksum: &[u8]) -> String {
    let hex = crate::blobs::hex_lower(outer_checksum);
    format!("mirror/tarballs/{}/{hex}.tar", &hex[..2])
}

pub async fn resource(db: impl PgExecutor<'_>, path: &str) -> Result<Option<Resource>> {
    Ok(sqlx::query_as("SELECT * FROM mirror_resources WHERE path = $1").bind(path).fetch_optional(db).await?)
}

/// Records a freshly fetched body; returns the sha256 of the body it replaced, if another.
pub async fn put_resource(db: impl PgExecutor<'_>, row: &Resource) -> Result<Option<Vec<u8>>> {
    let old: Option<(Option<Vec<u8>>,)> = sqlx::query_as(
        "WITH old AS (SELECT sha256 FROM mirror_resources WHERE path = $1)
         INSERT INTO mirror_resources (path, sha256, size, upstream_etag, fetched_at, checked_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (path) DO UPDATE SET sha256 = EXCLUDED.sha256, size = EXCLUDED.size,
             upstream_etag = EXCLUDED.upstream_etag, fetched_at = EXCLUDED.fetched_at, checked_at = EXCLUDED.checked_at
         RETURNING (SELECT sha256 FROM old)",
    )
    .bind(&row.path)
    .bind(&row.sha256)
    .bind(row.size)
    .bind(&row.upstream_etag)
    .bind(row.fetched_at)
    .bind(row.checked_at)
    .fetch_optional(db)
    .await?;
    Ok(old.and_then(|(sha,)| sha).filter(|sha| *sha != row.sha256))
}

/// The upstream confirmed the cached body (a 304) at `at`.
pub async fn touch_resource(db: impl PgExecutor<'_>, path: &str, at: OffsetDateTime) -> Result<()> {
    sqlx::query("UPDATE mirror_resources SET checked_at = greatest(checked_at, $2) WHERE path = $1")
        .bind(path)
        .bind(at)
        .execute(db)
        .await?;
    Ok(())
}

/// Forgets a resource the upstream no longer has; returns its sha256.
pub async fn delete_resource(db: impl PgExecutor<'_>, path: &str) -> Result<Option<Vec<u8>>> {
    let row: Option<(Vec<u8>,)> = sqlx::query_as("DELETE FROM mirror_resources WHERE path = $1 RETURNING sha256")
        .bind(path)
        .fetch_optional(db)
        .await?;
    Ok(row.map(|(sha,)| sha))
}

/// Whether any resource still holds a body.
pub async fn resource_body_used(db: impl PgExecutor<'_>, sha256: &[u8]) -> Result<bool> {
    let (used,): (bool,) = sqlx::query_as("SELECT EXISTS (SELECT 1 FROM mirror_resources WHERE sha256 = $1)")
        .bind(sha256)
        .fetch_one(db)
        .await?;
    Ok(used)
}

pub async fn tarball(db: impl PgExecutor<'_>, package: &str, version: &str) -> Result<Option<Tarball>> {
    Ok(sqlx::query_as("SELECT * FROM mirror_tarballs WHERE package = $1 AND version = $2")
        .bind(package)
        .bind(version)
        .fetch_optional(db)
        .await?)
}

/// Records a cached tarball (replacing the record of one the upstream has since replaced).
pub async fn put_tarball(db: impl PgExecutor<'_>, row: &Tarball) -> Result<()> {
    sqlx::query(
        "INSERT INTO mirror_tarballs (package, version, outer_checksum, size, fetched_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (package, version) DO UPDATE SET outer_checksum = EXCLUDED.outer_checksum,
             size = EXCLUDED.size, fetched_at = EXCLUDED.fetched_at
         WHERE mirror_tarballs.outer_checksum <> EXCLUDED.outer_checksum",
    )
    .bind(&row.package)
    .bind(&row.version)
    .bind(&row.outer_checksum)
    .bind(row.size)
    .bind(row.fetched_at)
    .execute(db)
    .await?;
    Ok(())
}

/// The cached versions of a package.
pub async fn tarball_versions(db: impl PgExecutor<'_>, package: &str) -> Result<Vec<String>> {
    let rows: Vec<(String,)> =
        sqlx::query_as("SELECT version FROM mirror_tarballs WHERE package = $1").bind(package).fetch_all(db).await?;
    Ok(rows.into_iter().map(|(v,)| v).collect())
}

/// What the cache holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Totals {
    /// Packages whose `/packages/NAME` is cached.
    pub packages: i64,
    pub resources: i64,
    pub resource_bytes: i64,
    pub tarballs: i64,
    pub tarball_bytes: i64,
}

impl Totals {
    pub fn bytes(&self) -> i64 {
        self.resource_bytes + self.tarball_bytes
    }
}

pub async fn totals(db: impl PgExecutor<'_>) -> Result<Totals> {
    let (packages, resources, resource_bytes, tarballs, tarball_bytes): (i64, i64, i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM mirror_resources WHERE path LIKE 'packages/%'),
                (SELECT count(*) FROM mirror_resources),
                (SELECT coalesce(sum(size), 0)::bigint FROM mirror_resources),
                (SELECT count(*) FROM mirror_tarballs),
                (SELECT coalesce(sum(size), 0)::bigint FROM mirror_tarballs)",
    )
    .fetch_one(db)
    .await?;
    Ok(Totals { packages, resources, resource_bytes, tarballs, tarball_bytes })
}

/// A run of `hexyard mirror sync`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Sync {
    pub id: i64,
    pub started_at: OffsetDateTime,
    pub finished_at: Option<OffsetDateTime>,
    pub packages: i64,
    pub tarballs: i64,
    pub failures: i64,
}

pub async fn start_sync(db: impl PgExecutor<'_>) -> Result<i64> {
    let (id,): (i64,) =
        sqlx::query_as("INSERT INTO mirror_syncs (started_at) VALUES (now()) RETURNING id").fetch_one(db).await?;
    Ok(id)
}

pub async fn finish_sync(db: impl PgExecutor<'_>, id: i64, packages: i64, tarballs: i64, failures: i64) -> Result<()> {
    sqlx::query(
        "UPDATE mirror_syncs SET finished_at = now(), packages = $2, tarballs = $3, failures = $4 WHERE id = $1",
    )
    .bind(id)
    .bind(packages)
    .bind(tarballs)
    .bind(failures)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn last_sync(db: impl PgExecutor<'_>) -> Result<Option<Sync>> {
    Ok(sqlx::query_as("SELECT * FROM mirror_syncs ORDER BY id DESC LIMIT 1").fetch_optional(db).await?)
}

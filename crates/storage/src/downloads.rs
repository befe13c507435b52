//! Download counts: batches of tarball downloads added to the day's counts (UTC) of their
//! releases and packages, and to the packages' totals, in one statement.

use sqlx::PgExecutor;

use crate::Result;

/// Downloads of one release since the last batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counted {
    pub repository_id: i64,
    pub package: String,
    pub version: String,
    pub downloads: i64,
}

/// Adds a batch to today's counts. Releases that no longer exist (reverted since) are skipped.
/// A batch names each release once.
pub async fn add(db: impl PgExecutor<'_>, batch: &[Counted]) -> Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    let repositories: Vec<i64> = batch.iter().map(|c| c.repository_id).collect();
    let packages: Vec<&str> = batch.iter().map(|c| c.package.as_str()).collect();
    let versions: Vec<&str> = batch.iter().map(|c| c.version.as_str()).collect();
    let downloads: Vec<i64> = batch.iter().map(|c| c.downloads).collect();
    sqlx::query(
        "WITH counted AS (
             SELECT r.id AS release_id, p.id AS package_id, c.downloads
             FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[]) AS c(repository_id, package, version, downloads)
             JOIN packages p ON p.repository_id = c.repository_id AND p.name = c.package
             JOIN releases r ON r.package_id = p.id AND r.version = c.version
             WHERE c.downloads > 0
         ), by_package AS (
             SELECT package_id, sum(downloads)::bigint AS downloads FROM counted GROUP BY package_id
         ), releases_counted AS (
             INSERT INTO release_downloads (release_id, day, downloads)
             SELECT release_id, (now() AT TIME ZONE 'UTC')::date, downloads FROM counted
             ON CONFLICT (release_id, day) DO UPDATE SET downloads = release_downloads.downloads + EXCLUDED.downloads
         ), packages_counted AS (
             INSERT INTO package_downloads (package_id, day, downloads)
             SELECT package_id, (now() AT TIME ZONE 'UTC')::date, downloads FROM by_package
             ON CONFLICT (package_id, day) DO UPDATE SET downloads = package_downloads.downloads + EXCLUDED.downloads
         )
         UPDATE packages SET downloads = packages.downloads + b.downloads FROM by_package b WHERE packages.id = b.package_id",
    )
    .bind(repositories)
    .bind(packages)
    .bind(versions)
    .bind(downloads)
    .execute(db)
    .await?;
    Ok(())
}

/// A package's downloads as hex.pm tells them: all of them, and those of yesterday, of the 7
/// and of the 90 days before today (UTC).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct PackageDownloads {
    pub all: i64,
    pub recent: i64,
    pub week: i64,
    pub day: i64,
}

/// The downloads of packages, by id (packages never downloaded are absent).
pub async fn of_packages(db: impl PgExecutor<'_>, package_ids: &[i64]) -> Result<Vec<(i64, PackageDownloads)>> {
    let rows: Vec<(i64, i64, i64, i64, i64)> = sqlx::query_as(
        "WITH today AS (SELECT (now() AT TIME ZONE 'UTC')::date AS day)
         SELECT p.id, p.downloads,
             coalesce(sum(d.downloads), 0)::bigint,
             coalesce(sum(d.downloads) FILTER (WHERE d.day >= t.day - 7), 0)::bigint,
             coalesce(sum(d.downloads) FILTER (WHERE d.day = t.day - 1), 0)::bigint
         FROM packages p CROSS JOIN today t
         LEFT JOIN package_downloads d ON d.package_id = p.id AND d.day >= t.day - 90 AND d.day < t.day
         WHERE p.id = ANY($1) AND p.downloads > 0
         GROUP BY p.id, p.downloads",
    )
    .bind(package_ids)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|(id, all, recent, week, day)| (id, PackageDownloads { all, recent, week, day })).collect())
}

/// All the downloads of releases, by id (releases never downloaded are absent).
pub async fn of_releases(db: impl PgExecutor<'_>, release_ids: &[i64]) -> Result<Vec<(i64, i64)>> {
    Ok(sqlx::query_as(
        "SELECT release_id, sum(downloads)::bigint FROM release_downloads WHERE release_id = ANY($1) GROUP BY release_id",
    )
    .bind(release_ids)
    .fetch_all(db)
    .await?)
}

/// A package's downloads of each of the last `days` days before today (UTC), oldest first;
/// days without downloads are absent.
pub async fn daily(db: impl PgExecutor<'_>, package_id: i64, days: i32) -> Result<Vec<(time::Date, i64)>> {
    Ok(sqlx::query_as(
        "SELECT day, downloads FROM package_downloads WHERE package_id = $1
         AND day >= (now() AT TIME ZONE 'UTC')::date - $2 AND day < (now() AT TIME ZONE 'UTC')::date ORDER BY day",
    )
    .bind(package_id)
    .bind(days)
    .fetch_all(db)
    .await?)
}

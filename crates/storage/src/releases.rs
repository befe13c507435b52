//! Releases of packages and their requirements.

use sqlx::types::Json;
use sqlx::{PgConnection, PgExecutor};
use time::OffsetDateTime;

use crate::Result;

/// A release row, with its publisher's name.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Release {
    pub id: i64,
    pub package_id: i64,
    pub version: String,
    pub inner_checksum: Vec<u8>,
    pub outer_checksum: Vec<u8>,
    pub meta: Json<serde_json::Value>,
    pub publisher_id: Option<i64>,
    pub publisher: Option<String>,
    pub publisher_email: Option<String>,
    pub has_docs: bool,
    /// SHA-256 of the docs tarball (none for docs uploaded before it was recorded).
    pub docs_checksum: Option<Vec<u8>>,
    pub retirement_reason: Option<String>,
    pub retirement_message: Option<String>,
    pub inserted_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

const SELECT: &str = "SELECT r.id, r.package_id, r.version, r.inner_checksum, r.outer_checksum, r.meta,
        r.publisher_id, u.username AS publisher, (CASE WHEN e.is_public THEN e.email END) AS publisher_email,
        r.has_docs, r.docs_checksum, r.retirement_reason, r.retirement_message, r.inserted_at, r.updated_at
    FROM releases r LEFT JOIN users u ON u.id = r.publisher_id
    LEFT JOIN emails e ON e.user_id = u.id AND e.is_primary";

/// A requirement row.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Requirement {
    pub release_id: i64,
    pub dependency_name: String,
    pub dependency_repository: String,
    pub app: String,
    pub requirement: String,
    pub optional: bool,
}

/// The columns of a release that a publish writes.
#[derive(Debug)]
pub struct NewRelease<'a> {
    pub package_id: i64,
    pub version: &'a str,
    pub inner_checksum: &'a [u8],
    pub outer_checksum: &'a [u8],
    pub meta: &'a serde_json::Value,
    /// `None` when an organization's key publishes.
    pub publisher_id: Option<i64>,
}

pub async fn of_package(db: impl PgExecutor<'_>, package_id: i64) -> Result<Vec<Release>> {
    Ok(sqlx::query_as(&format!("{SELECT} WHERE r.package_id = $1")).bind(package_id).fetch_all(db).await?)
}

pub async fn get(db: impl PgExecutor<'_>, package_id: i64, version: &str) -> Result<Option<Release>> {
    Ok(sqlx::query_as(&format!("{SELECT} WHERE r.package_id = $1 AND r.version = $2"))
        .bind(package_id)
        .bind(version)
        .fetch_optional(db)
        .await?)
}

/// The release, locked for the rest of the transaction.
pub async fn get_for_update(
    conn: &mut PgConnection,
    package_id: i64,
    version: &str,
) -> Result<Option<(i64, Vec<u8>, OffsetDateTime)>> {
    Ok(sqlx::query_as(
        "SELECT id, outer_checksum, inserted_at FROM releases WHERE package_id = $1 AND version = $2 FOR UPDATE",
    )
    .bind(package_id)
    .bind(version)
    .fetch_optional(conn)
    .await?)
}

/// Inserts a release. A concurrent insert of the same version fails on `releases_package_id_version_key`.
pub async fn insert(conn: &mut PgConnection, new: &NewRelease<'_>) -> Result<i64> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO releases (package_id, version, inner_checksum, outer_checksum, meta, publisher_id)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(new.package_id)
    .bind(new.version)
    .bind(new.inner_checksum)
    .bind(new.outer_checksum)
    .bind(Json(new.meta))
    .bind(new.publisher_id)
    .fetch_one(conn)
    .await?;
    Ok(id)
}

/// Overwrites a release in place (`--replace`): new checksums, metadata and requirements.
pub async fn replace(conn: &mut PgConnection, id: i64, new: &NewRelease<'_>) -> Result<()> {
    sqlx::query(
        "UPDATE releases SET inner_checksum = $2, outer_checksum = $3, meta = $4, publisher_id = $5,
         has_docs = false, docs_checksum = NULL, updated_at = now() WHERE id = $1",
    )
    .bind(id)
    .bind(new.inner_checksum)
    .bind(new.outer_checksum)
    .bind(Json(new.meta))
    .bind(new.publisher_id)
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM requirements WHERE release_id = $1").bind(id).execute(conn).await?;
    Ok(())
}

/// Stores the requirements of a release.
pub async fn insert_requirements(conn: &mut PgConnection, release_id: i64, reqs: &[Requirement]) -> Result<()> {
    for r in reqs {
        sqlx::query(
            "INSERT INTO requirements (release_id, dependency_name, dependency_repository, app, requirement, optional)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(release_id)
        .bind(&r.dependency_name)
        .bind(&r.dependency_repository)
        .bind(&r.app)
        .bind(&r.requirement)
        .bind(r.optional)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// The requirements of every release of a package.
pub async fn requirements_of_package(db: impl PgExecutor<'_>, package_id: i64) -> Result<Vec<Requirement>> {
    Ok(sqlx::query_as(
        "SELECT q.release_id, q.dependency_name, q.dependency_repository, q.app, q.requirement, q.optional
         FROM requirements q JOIN releases r ON r.id = q.release_id WHERE r.package_id = $1
         ORDER BY q.release_id, q.dependency_name",
    )
    .bind(package_id)
    .fetch_all(db)
    .await?)
}

/// One row per release of the repository: package, version, retired, outer checksum.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReleaseSummary {
    pub package: String,
    pub version: String,
    pub retired: bool,
    pub outer_checksum: Vec<u8>,
}

pub async fn summaries(db: impl PgExecutor<'_>, repository_id: i64) -> Result<Vec<ReleaseSummary>> {
    Ok(sqlx::query_as(
        "SELECT p.name AS package, r.version, (r.retirement_reason IS NOT NULL) AS retired, r.outer_checksum
         FROM releases r JOIN packages p ON p.id = r.package_id WHERE p.repository_id = $1",
    )
    .bind(repository_id)
    .fetch_all(db)
    .await?)
}

/// Whether any release still has this tarball.
pub async fn checksum_in_use(db: impl PgExecutor<'_>, outer_checksum: &[u8]) -> Result<bool> {
    let row: Option<(i64,)> = sqlx::query_as("SELECT id FROM releases WHERE outer_checksum = $1 LIMIT 1")
        .bind(outer_checksum)
        .fetch_optional(db)
        .await?;
    Ok(row.is_some())
}

/// The releases of several packages at once, for listings.
pub async fn of_packages(db: impl PgExecutor<'_>, package_ids: &[i64]) -> Result<Vec<Release>> {
    Ok(sqlx::query_as(&format!("{SELECT} WHERE r.package_id = ANY($1)")).bind(package_ids).fetch_all(db).await?)
}

/// The release summaries of one package of a repository.
pub async fn summaries_of_package(
    db: impl PgExecutor<'_>,
    repository_id: i64,
    package: &str,
) -> Result<Vec<ReleaseSummary>> {
    Ok(sqlx::query_as(
        "SELECT p.name AS package, r.version, (r.retirement_reason IS NOT NULL) AS retired, r.outer_checksum
         FROM releases r JOIN packages p ON p.id = r.package_id WHERE p.repository_id = $1 AND p.name = $2",
    )
    .bind(repository_id)
    .bind(package)
    .fetch_all(db)
    .await?)
}

/// Deletes a release (its requirements go with it).
pub async fn delete(db: impl PgExecutor<'_>, id: i64) -> Result<()> {
    sqlx::query("DELETE FROM releases WHERE id = $1").bind(id).execute(db).await?;
    Ok(())
}

/// How many releases a package has.
pub async fn count_of_package(db: impl PgExecutor<'_>, package_id: i64) -> Result<i64> {
    let (n,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM releases WHERE package_id = $1").bind(package_id).fetch_one(db).await?;
    Ok(n)
}

/// Whether a release of another package requires `package` of `repository` (by its name).
pub async fn has_dependants(db: impl PgExecutor<'_>, repository: &str, package_id: i64, package: &str) -> Result<bool> {
    let row: Option<(i64,)> = sqlx::query_as(
        "SELECT q.release_id FROM requirements q JOIN releases r ON r.id = q.release_id
         WHERE q.dependency_repository = $1 AND q.dependency_name = $2 AND r.package_id <> $3 LIMIT 1",
    )
    .bind(repository)
    .bind(package)
    .bind(package_id)
    .fetch_optional(db)
    .await?;
    Ok(row.is_some())
}

/// Retires a release (`Some((reason, message))`) or unretires it (`None`); false when there is
/// no such release.
pub async fn set_retirement(
    db: impl PgExecutor<'_>,
    id: i64,
    retirement: Option<(&str, Option<&str>)>,
) -> Result<bool> {
    let (reason, message) = retirement.map_or((None, None), |(r, m)| (Some(r), m));
    Ok(sqlx::query(
        "UPDATE releases SET retirement_reason = $2, retirement_message = $3, updated_at = now() WHERE id = $1",
    )
    .bind(id)
    .bind(reason)
    .bind(message)
    .execute(db)
    .await?
    .rows_affected()
        == 1)
}

/// Records a release's docs by the checksum of their tarball, or that it has none.
pub async fn set_docs(db: impl PgExecutor<'_>, id: i64, checksum: Option<&[u8]>) -> Result<()> {
    sqlx::query("UPDATE releases SET has_docs = $2 IS NOT NULL, docs_checksum = $2, updated_at = now() WHERE id = $1")
        .bind(id)
        .bind(checksum)
        .execute(db)
        .await?;
    Ok(())
}

/// Records the checksum of docs uploaded before checksums were, unless an upload since has.
pub async fn record_docs_checksum(db: impl PgExecutor<'_>, id: i64, checksum: &[u8]) -> Result<()> {
    sqlx::query("UPDATE releases SET docs_checksum = $2 WHERE id = $1 AND has_docs AND docs_checksum IS NULL")
        .bind(id)
        .bind(checksum)
        .execute(db)
        .await?;
    Ok(())
}

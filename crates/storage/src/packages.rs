//! Packages: a name in a repository, with the metadata of its latest publish.

use sqlx::types::Json;
use sqlx::{PgConnection, PgExecutor};
use time::OffsetDateTime;

use crate::Result;

/// A package row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Package {
    pub id: i64,
    pub repository_id: i64,
    pub repository: String,
    pub name: String,
    pub meta: Json<serde_json::Value>,
    pub inserted_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

const SELECT: &str = "SELECT p.id, p.repository_id, r.name AS repository, p.name, p.meta, p.inserted_at, p.updated_at
    FROM packages p JOIN repositories r ON r.id = p.repository_id";

pub async fn get(db: impl PgExecutor<'_>, repository_id: i64, name: &str) -> Result<Option<Package>> {
    Ok(sqlx::query_as(&format!("{SELECT} WHERE p.repository_id = $1 AND p.name = $2"))
        .bind(repository_id)
        .bind(name)
        .fetch_optional(db)
        .await?)
}

/// Creates the package or updates its metadata; the flag says whether it was created. Two
/// publishes racing to create one package both succeed, on one row.
pub async fn upsert(
    conn: &mut PgConnection,
    repository_id: i64,
    name: &str,
    meta: &serde_json::Value,
) -> Result<(i64, bool)> {
    let row: (i64, bool) = sqlx::query_as(
        "INSERT INTO packages (repository_id, name, meta) VALUES ($1, $2, $3)
         ON CONFLICT (repository_id, name) DO UPDATE SET meta = EXCLUDED.meta, updated_at = now()
         RETURNING id, (xmax = 0) AS created",
    )
    .bind(repository_id)
    .bind(name)
    .bind(Json(meta))
    .fetch_one(conn)
    .await?;
    Ok(row)
}

/// Which of `names` exist in the repository.
pub async fn existing(db: impl PgExecutor<'_>, repository_id: i64, names: &[String]) -> Result<Vec<String>> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT name FROM packages WHERE repository_id = $1 AND name = ANY($2)
         AND EXISTS (SELECT 1 FROM releases WHERE package_id = packages.id)",
    )
    .bind(repository_id)
    .bind(names)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|(n,)| n).collect())
}

/// How to order a listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    Name,
    InsertedAt,
    UpdatedAt,
    /// Downloads are not counted yet: these order by name.
    Downloads,
}

/// A page of the packages of the given repositories, optionally filtered by a name substring.
pub async fn list(
    db: impl PgExecutor<'_>,
    repository_ids: &[i64],
    search: Option<&str>,
    sort: Sort,
    page: u32,
    per_page: u32,
) -> Result<Vec<Package>> {
    let order = match sort {
        Sort::Name | Sort::Downloads => "p.name ASC",
        Sort::InsertedAt => "p.inserted_at DESC, p.name ASC",
        Sort::UpdatedAt => "p.updated_at DESC, p.name ASC",
    };
    let pattern = search.map(|s| format!("%{}%", s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")));
    Ok(sqlx::query_as(&format!(
        "{SELECT} WHERE p.repository_id = ANY($1) AND ($2::text IS NULL OR p.name ILIKE $2)
         AND EXISTS (SELECT 1 FROM releases WHERE package_id = p.id)
         ORDER BY {order} LIMIT $3 OFFSET $4"
    ))
    .bind(repository_ids)
    .bind(pattern)
    .bind(i64::from(per_page))
    .bind(i64::from(page.saturating_sub(1)) * i64::from(per_page))
    .fetch_all(db)
    .await?)
}

/// The packages a user owns, in the given repositories.
pub async fn owned_by(db: impl PgExecutor<'_>, user_id: i64, repository_ids: &[i64]) -> Result<Vec<Package>> {
    Ok(sqlx::query_as(&format!(
        "{SELECT} JOIN package_owners o ON o.package_id = p.id
         WHERE o.user_id = $1 AND p.repository_id = ANY($2) ORDER BY p.name"
    ))
    .bind(user_id)
    .bind(repository_ids)
    .fetch_all(db)
    .await?)
}

/// Name and last update of every package of the repository that has a release.
pub async fn names(db: impl PgExecutor<'_>, repository_id: i64) -> Result<Vec<(String, OffsetDateTime)>> {
    Ok(sqlx::query_as(
        "SELECT name, updated_at FROM packages p WHERE repository_id = $1
         AND EXISTS (SELECT 1 FROM releases WHERE package_id = p.id) ORDER BY name",
    )
    .bind(repository_id)
    .fetch_all(db)
    .await?)
}

/// When the package was created.
pub async fn inserted_at(db: impl PgExecutor<'_>, package_id: i64) -> Result<Option<OffsetDateTime>> {
    let row: Option<(OffsetDateTime,)> =
        sqlx::query_as("SELECT inserted_at FROM packages WHERE id = $1").bind(package_id).fetch_optional(db).await?;
    Ok(row.map(|(t,)| t))
}

/// Deletes a package (its owners go with it); its releases must be gone.
pub async fn delete(db: impl PgExecutor<'_>, id: i64) -> Result<()> {
    sqlx::query("DELETE FROM packages WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM releases WHERE package_id = $1)")
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

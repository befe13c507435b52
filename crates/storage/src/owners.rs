//! Package owners.

use sqlx::PgExecutor;

use crate::Result;

/// An owner of a package.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Owner {
    pub user_id: i64,
    pub username: String,
    pub email: Option<String>,
    pub email_public: bool,
    pub level: String,
}

/// Adds an owner (or changes the level of one).
pub async fn add(db: impl PgExecutor<'_>, package_id: i64, user_id: i64, level: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO package_owners (package_id, user_id, level) VALUES ($1, $2, $3)
         ON CONFLICT (package_id, user_id) DO UPDATE SET level = EXCLUDED.level",
    )
    .bind(package_id)
    .bind(user_id)
    .bind(level)
    .execute(db)
    .await?;
    Ok(())
}

/// The owners of a package, by username.
pub async fn of_package(db: impl PgExecutor<'_>, package_id: i64) -> Result<Vec<Owner>> {
    Ok(sqlx::query_as(
        "SELECT o.user_id, u.username, e.email, coalesce(e.is_public, false) AS email_public, o.level
         FROM package_owners o JOIN users u ON u.id = o.user_id
         LEFT JOIN emails e ON e.user_id = u.id AND e.is_primary
         WHERE o.package_id = $1 ORDER BY lower(u.username)",
    )
    .bind(package_id)
    .fetch_all(db)
    .await?)
}

/// The level at which the user owns the package, if they do.
pub async fn level(db: impl PgExecutor<'_>, package_id: i64, user_id: i64) -> Result<Option<String>> {
    let row: Option<(String,)> =
        sqlx::query_as("SELECT level FROM package_owners WHERE package_id = $1 AND user_id = $2")
            .bind(package_id)
            .bind(user_id)
            .fetch_optional(db)
            .await?;
    Ok(row.map(|(level,)| level))
}

/// Locks the package's row, so concurrent owner changes are applied one after the other (and
/// the last full owner cannot be removed twice at once).
pub async fn lock_package(conn: &mut sqlx::PgConnection, package_id: i64) -> Result<()> {
    sqlx::query("SELECT id FROM packages WHERE id = $1 FOR UPDATE").bind(package_id).execute(conn).await?;
    Ok(())
}

/// Removes an owner; false when they were none.
pub async fn remove(db: impl PgExecutor<'_>, package_id: i64, user_id: i64) -> Result<bool> {
    Ok(sqlx::query("DELETE FROM package_owners WHERE package_id = $1 AND user_id = $2")
        .bind(package_id)
        .bind(user_id)
        .execute(db)
        .await?
        .rows_affected()
        == 1)
}

/// Removes every owner but `user_id`.
pub async fn remove_all_but(db: impl PgExecutor<'_>, package_id: i64, user_id: i64) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM package_owners WHERE package_id = $1 AND user_id <> $2")
        .bind(package_id)
        .bind(user_id)
        .execute(db)
        .await?
        .rows_affected())
}

/// How many full owners the package has.
pub async fn full_owners(db: impl PgExecutor<'_>, package_id: i64) -> Result<i64> {
    let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM package_owners WHERE package_id = $1 AND level = 'full'")
        .bind(package_id)
        .fetch_one(db)
        .await?;
    Ok(n)
}

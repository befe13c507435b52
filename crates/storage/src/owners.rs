//! Package owners: users, or an organization (whose members then act by role).

use sqlx::PgExecutor;

use crate::Result;

/// An owner of a package: a user, or an organization (`username` is then its name).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Owner {
    pub user_id: Option<i64>,
    pub organization_id: Option<i64>,
    pub username: String,
    pub email: Option<String>,
    pub email_public: bool,
    pub level: String,
}

/// Who an ownership row names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holder {
    User(i64),
    Organization(i64),
}

impl Holder {
    fn columns(self) -> (Option<i64>, Option<i64>) {
        match self {
            Holder::User(id) => (Some(id), None),
            Holder::Organization(id) => (None, Some(id)),
        }
    }
}

/// Adds a user as an owner (or changes their level).
pub async fn add(db: impl PgExecutor<'_>, package_id: i64, user_id: i64, level: &str) -> Result<()> {
    add_holder(db, package_id, Holder::User(user_id), level).await
}

/// Adds an owner (or changes the level of one).
pub async fn add_holder(db: impl PgExecutor<'_>, package_id: i64, holder: Holder, level: &str) -> Result<()> {
    let (user_id, organization_id) = holder.columns();
    let target = if user_id.is_some() {
        "(package_id, user_id) WHERE user_id IS NOT NULL"
    } else {
        "(package_id, organization_id) WHERE organization_id IS NOT NULL"
    };
    sqlx::query(&format!(
        "INSERT INTO package_owners (package_id, user_id, organization_id, level) VALUES ($1, $2, $3, $4)
         ON CONFLICT {target} DO UPDATE SET level = EXCLUDED.level"
    ))
    .bind(package_id)
    .bind(user_id)
    .bind(organization_id)
    .bind(level)
    .execute(db)
    .await?;
    Ok(())
}

/// The owners of a package: users by username, then organizations by name.
pub async fn of_package(db: impl PgExecutor<'_>, package_id: i64) -> Result<Vec<Owner>> {
    Ok(sqlx::query_as(
        "SELECT o.user_id, o.organization_id, coalesce(u.username, g.name) AS username,
                e.email, coalesce(e.is_public, false) AS email_public, o.level
         FROM package_owners o LEFT JOIN users u ON u.id = o.user_id
         LEFT JOIN organizations g ON g.id = o.organization_id
         LEFT JOIN emails e ON e.user_id = u.id AND e.is_primary
         WHERE o.package_id = $1 ORDER BY o.organization_id IS NOT NULL, lower(coalesce(u.username, g.name))",
    )
    .bind(package_id)
    .fetch_all(db)
    .await?)
}

/// The level at which the user owns the package themselves, if they do.
pub async fn level(db: impl PgExecutor<'_>, package_id: i64, user_id: i64) -> Result<Option<String>> {
    holder_level(db, package_id, Holder::User(user_id)).await
}

/// The level of an owner, if they are one.
pub async fn holder_level(db: impl PgExecutor<'_>, package_id: i64, holder: Holder) -> Result<Option<String>> {
    let (user_id, organization_id) = holder.columns();
    let row: Option<(String,)> = sqlx::query_as(
        "SELECT level FROM package_owners WHERE package_id = $1
         AND user_id IS NOT DISTINCT FROM $2 AND organization_id IS NOT DISTINCT FROM $3",
    )
    .bind(package_id)
    .bind(user_id)
    .bind(organization_id)
    .fetch_optional(db)
    .await?;
    Ok(row.map(|(level,)| level))
}

/// The user's roles in the organizations that own the package.
pub async fn roles_through_organizations(
    db: impl PgExecutor<'_>,
    package_id: i64,
    user_id: i64,
) -> Result<Vec<String>> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT m.role FROM package_owners o JOIN organization_members m ON m.organization_id = o.organization_id
         WHERE o.package_id = $1 AND m.user_id = $2",
    )
    .bind(package_id)
    .bind(user_id)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|(r,)| r).collect())
}

/// Locks the package's row, so concurrent owner changes are applied one after the other (and
/// the last full owner cannot be removed twice at once).
pub async fn lock_package(conn: &mut sqlx::PgConnection, package_id: i64) -> Result<()> {
    sqlx::query("SELECT id FROM packages WHERE id = $1 FOR UPDATE").bind(package_id).execute(conn).await?;
    Ok(())
}

/// Removes an owner; false when they were none.
pub async fn remove(db: impl PgExecutor<'_>, package_id: i64, holder: Holder) -> Result<bool> {
    let (user_id, organization_id) = holder.columns();
    Ok(sqlx::query(
        "DELETE FROM package_owners WHERE package_id = $1
         AND user_id IS NOT DISTINCT FROM $2 AND organization_id IS NOT DISTINCT FROM $3",
    )
    .bind(package_id)
    .bind(user_id)
    .bind(organization_id)
    .execute(db)
    .await?
    .rows_affected()
        == 1)
}

/// Removes every owner but `holder`.
pub async fn remove_all_but(db: impl PgExecutor<'_>, package_id: i64, holder: Holder) -> Result<u64> {
    let (user_id, organization_id) = holder.columns();
    Ok(sqlx::query(
        "DELETE FROM package_owners WHERE package_id = $1
         AND NOT (user_id IS NOT DISTINCT FROM $2 AND organization_id IS NOT DISTINCT FROM $3)",
    )
    .bind(package_id)
    .bind(user_id)
    .bind(organization_id)
    .execute(db)
    .await?
    .rows_affected())
}

/// How many full owners (users or organizations) the package has.
pub async fn full_owners(db: impl PgExecutor<'_>, package_id: i64) -> Result<i64> {
    let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM package_owners WHERE package_id = $1 AND level = 'full'")
        .bind(package_id)
        .fetch_one(db)
        .await?;
    Ok(n)
}

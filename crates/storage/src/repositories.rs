//! Repositories: the instance's public one and organizations' private ones.

use sqlx::PgExecutor;
use time::OffsetDateTime;

use crate::Result;

/// A repository row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Repository {
    pub id: i64,
    pub name: String,
    pub public: bool,
    pub inserted_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// The repository of this name, created when missing.
pub async fn ensure(db: impl PgExecutor<'_>, name: &str, public: bool) -> Result<Repository> {
    Ok(sqlx::query_as(
        "INSERT INTO repositories (name, public) VALUES ($1, $2)
         ON CONFLICT (name) DO UPDATE SET public = EXCLUDED.public
         RETURNING id, name, public, inserted_at, updated_at",
    )
    .bind(name)
    .bind(public)
    .fetch_one(db)
    .await?)
}

/// A private repository and its sealed signing key.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PrivateRepository {
    pub id: i64,
    pub name: String,
    pub signing_key_sealed: Option<Vec<u8>>,
}

/// A private (organization) repository by name.
pub async fn private_by_name(db: impl PgExecutor<'_>, name: &str) -> Result<Option<PrivateRepository>> {
    Ok(sqlx::query_as("SELECT id, name, signing_key_sealed FROM repositories WHERE name = $1 AND NOT public")
        .bind(name)
        .fetch_optional(db)
        .await?)
}

pub async fn set_signing_key(db: impl PgExecutor<'_>, id: i64, sealed: &[u8]) -> Result<()> {
    sqlx::query("UPDATE repositories SET signing_key_sealed = $2 WHERE id = $1")
        .bind(id)
        .bind(sealed)
        .execute(db)
        .await?;
    Ok(())
}

/// Every private (organization) repository.
pub async fn private_all(db: impl PgExecutor<'_>) -> Result<Vec<PrivateRepository>> {
    Ok(sqlx::query_as("SELECT id, name, signing_key_sealed FROM repositories WHERE NOT public ORDER BY name")
        .fetch_all(db)
        .await?)
}

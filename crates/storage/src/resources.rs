//! Signed registry resources as served, so a server starts without re-signing.

use sqlx::PgExecutor;
use time::OffsetDateTime;

use crate::Result;

/// A stored resource.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Resource {
    pub repository_id: i64,
    pub path: String,
    pub body: Vec<u8>,
    pub etag: String,
    pub updated_at: OffsetDateTime,
}

/// Stores a resource, unless a newer one is already there (two rebuilds racing keep the later).
pub async fn put(db: impl PgExecutor<'_>, resource: &Resource) -> Result<()> {
    sqlx::query(
        "INSERT INTO registry_resources (repository_id, path, body, etag, updated_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (repository_id, path) DO UPDATE
           SET body = EXCLUDED.body, etag = EXCLUDED.etag, updated_at = EXCLUDED.updated_at
           WHERE registry_resources.updated_at <= EXCLUDED.updated_at",
    )
    .bind(resource.repository_id)
    .bind(&resource.path)
    .bind(&resource.body)
    .bind(&resource.etag)
    .bind(resource.updated_at)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn all(db: impl PgExecutor<'_>) -> Result<Vec<Resource>> {
    Ok(sqlx::query_as("SELECT repository_id, path, body, etag, updated_at FROM registry_resources")
        .fetch_all(db)
        .await?)
}

/// One stored resource.
pub async fn get(db: impl PgExecutor<'_>, repository_id: i64, path: &str) -> Result<Option<Resource>> {
    Ok(sqlx::query_as(
        "SELECT repository_id, path, body, etag, updated_at FROM registry_resources
         WHERE repository_id = $1 AND path = $2",
    )
    .bind(repository_id)
    .bind(path)
    .fetch_optional(db)
    .await?)
}

/// The channel on which servers announce the resources they stored.
pub const CHANNEL: &str = "hexyard_registry";

/// Tells every server listening on [`CHANNEL`] that a resource changed; delivered on commit.
pub async fn announce(db: impl PgExecutor<'_>, payload: &str) -> Result<()> {
    sqlx::query("SELECT pg_notify($1, $2)").bind(CHANNEL).bind(payload).execute(db).await?;
    Ok(())
}

/// A connection listening on [`CHANNEL`]; it reconnects by itself when the connection drops.
pub async fn listen(pool: &sqlx::PgPool) -> Result<sqlx::postgres::PgListener> {
    let mut listener = sqlx::postgres::PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

/// Forgets a stored resource (a package whose last release was reverted).
pub async fn delete(db: impl PgExecutor<'_>, repository_id: i64, path: &str) -> Result<()> {
    sqlx::query("DELETE FROM registry_resources WHERE repository_id = $1 AND path = $2")
        .bind(repository_id)
        .bind(path)
        .execute(db)
        .await?;
    Ok(())
}

//! The audit log of state-changing actions.

use sqlx::PgExecutor;

use crate::Result;

/// Who did it, and from where.
#[derive(Debug, Clone, Default)]
pub struct Actor {
    pub user_id: Option<i64>,
    pub key_id: Option<i64>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// Records `action` (`release.publish`, `key.generate`, …) with its parameters.
pub async fn record(db: impl PgExecutor<'_>, actor: &Actor, action: &str, params: serde_json::Value) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit_logs (user_id, key_id, action, params, ip, user_agent) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(actor.user_id)
    .bind(actor.key_id)
    .bind(action)
    .bind(params)
    .bind(actor.ip.as_deref())
    .bind(actor.user_agent.as_deref())
    .execute(db)
    .await?;
    Ok(())
}

/// An audit log entry.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Entry {
    pub action: String,
    pub params: serde_json::Value,
    pub user_agent: Option<String>,
    pub inserted_at: time::OffsetDateTime,
}

/// A user's actions, newest first, `per_page` a page.
pub async fn of_user(db: impl PgExecutor<'_>, user_id: i64, page: u32, per_page: u32) -> Result<Vec<Entry>> {
    Ok(sqlx::query_as(
        "SELECT action, params, user_agent, inserted_at FROM audit_logs WHERE user_id = $1
         ORDER BY id DESC LIMIT $2 OFFSET $3",
    )
    .bind(user_id)
    .bind(i64::from(per_page))
    .bind(i64::from(page.saturating_sub(1)) * i64::from(per_page))
    .fetch_all(db)
    .await?)
}

/// The actions on a package of a repository, newest first.
pub async fn of_package(
    db: impl PgExecutor<'_>,
    repository: &str,
    package: &str,
    page: u32,
    per_page: u32,
) -> Result<Vec<Entry>> {
    Ok(sqlx::query_as(
        "SELECT action, params, user_agent, inserted_at FROM audit_logs
         WHERE params->>'package' = $1 AND params->>'repository' = $2
         ORDER BY id DESC LIMIT $3 OFFSET $4",
    )
    .bind(package)
    .bind(repository)
    .bind(i64::from(per_page))
    .bind(i64::from(page.saturating_sub(1)) * i64::from(per_page))
    .fetch_all(db)
    .await?)
}

/// The actions on an organization, newest first.
pub async fn of_organization(
    db: impl PgExecutor<'_>,
    organization: &str,
    page: u32,
    per_page: u32,
) -> Result<Vec<Entry>> {
    Ok(sqlx::query_as(
        "SELECT action, params, user_agent, inserted_at FROM audit_logs WHERE params->>'organization' = $1
         ORDER BY id DESC LIMIT $2 OFFSET $3",
    )
    .bind(organization)
    .bind(i64::from(per_page))
    .bind(i64::from(page.saturating_sub(1)) * i64::from(per_page))
    .fetch_all(db)
    .await?)
}

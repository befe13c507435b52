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

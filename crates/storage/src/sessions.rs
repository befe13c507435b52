//! Browser sessions. The cookie carries a random token; only its SHA-256 is stored.

use sqlx::PgExecutor;
use time::OffsetDateTime;

use crate::Result;

/// A live session.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Session {
    pub id: i64,
    pub user_id: i64,
    pub csrf_token: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub inserted_at: OffsetDateTime,
    pub last_used_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    /// The password was right; the second factor is still to come.
    pub tfa_pending: bool,
}

const COLUMNS: &str = "id, user_id, csrf_token, ip, user_agent, inserted_at, last_used_at, expires_at, tfa_pending";

/// A session to start.
#[derive(Debug)]
pub struct NewSession<'a> {
    pub user_id: i64,
    pub token_hash: &'a [u8],
    pub csrf_token: &'a str,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub expires_at: OffsetDateTime,
    pub tfa_pending: bool,
}

/// Starts a session.
pub async fn create(db: impl PgExecutor<'_>, new: &NewSession<'_>) -> Result<i64> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO sessions (user_id, token_hash, csrf_token, ip, user_agent, expires_at, tfa_pending)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(new.user_id)
    .bind(new.token_hash)
    .bind(new.csrf_token)
    .bind(new.ip)
    .bind(new.user_agent)
    .bind(new.expires_at)
    .bind(new.tfa_pending)
    .fetch_one(db)
    .await?;
    Ok(id)
}

/// The live session of a cookie token, marked used.
pub async fn by_token(db: impl PgExecutor<'_>, token_hash: &[u8]) -> Result<Option<Session>> {
    Ok(sqlx::query_as(&format!(
        "UPDATE sessions SET last_used_at = now()
         WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > now() RETURNING {COLUMNS}"
    ))
    .bind(token_hash)
    .fetch_optional(db)
    .await?)
}

/// The user's live sessions, most recent first.
pub async fn of_user(db: impl PgExecutor<'_>, user_id: i64) -> Result<Vec<Session>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM sessions WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now()
         ORDER BY last_used_at DESC"
    ))
    .bind(user_id)
    .fetch_all(db)
    .await?)
}

/// Ends one of the user's sessions.
pub async fn revoke(db: impl PgExecutor<'_>, user_id: i64, id: i64) -> Result<bool> {
    Ok(sqlx::query("UPDATE sessions SET revoked_at = now() WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL")
        .bind(id)
        .bind(user_id)
        .execute(db)
        .await?
        .rows_affected()
        == 1)
}

/// The second factor was given: the session becomes a full one.
pub async fn complete_tfa(db: impl PgExecutor<'_>, id: i64) -> Result<()> {
    sqlx::query("UPDATE sessions SET tfa_pending = false WHERE id = $1").bind(id).execute(db).await?;
    Ok(())
}

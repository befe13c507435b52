//! OAuth 2.0: device authorizations, grants and their tokens. Codes and tokens are random and
//! kept only as SHA-256 hashes.

use sqlx::{PgConnection, PgExecutor};
use time::OffsetDateTime;

use crate::Result;

/// A device authorization (RFC 8628).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Device {
    pub id: i64,
    pub user_code: String,
    pub client_id: String,
    pub client_name: Option<String>,
    pub scopes: Vec<String>,
    pub status: String,
    pub user_id: Option<i64>,
    pub granted_scopes: Option<Vec<String>>,
    pub interval_seconds: i32,
    pub last_polled_at: Option<OffsetDateTime>,
    pub expires_at: OffsetDateTime,
}

const DEVICE: &str = "id, user_code, client_id, client_name, scopes, status, user_id, granted_scopes,
    interval_seconds, last_polled_at, expires_at";

/// A new device authorization.
#[derive(Debug)]
pub struct NewDevice<'a> {
    pub device_code_hash: &'a [u8],
    pub user_code: &'a str,
    pub client_id: &'a str,
    pub client_name: Option<&'a str>,
    pub scopes: &'a [String],
    pub interval_seconds: i32,
    pub expires_at: OffsetDateTime,
}

pub async fn create_device(db: impl PgExecutor<'_>, new: &NewDevice<'_>) -> Result<()> {
    sqlx::query(
        "INSERT INTO device_authorizations
           (device_code_hash, user_code, client_id, client_name, scopes, interval_seconds, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(new.device_code_hash)
    .bind(new.user_code)
    .bind(new.client_id)
    .bind(new.client_name)
    .bind(new.scopes)
    .bind(new.interval_seconds)
    .bind(new.expires_at)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn device_by_user_code(db: impl PgExecutor<'_>, user_code: &str) -> Result<Option<Device>> {
    Ok(sqlx::query_as(&format!("SELECT {DEVICE} FROM device_authorizations WHERE user_code = $1"))
        .bind(user_code)
        .fetch_optional(db)
        .await?)
}

/// The device authorization of a device code, locked for the polling transaction.
pub async fn device_for_poll(conn: &mut PgConnection, device_code_hash: &[u8]) -> Result<Option<Device>> {
    Ok(sqlx::query_as(&format!("SELECT {DEVICE} FROM device_authorizations WHERE device_code_hash = $1 FOR UPDATE"))
        .bind(device_code_hash)
        .fetch_optional(conn)
        .await?)
}

/// Records a poll; `slow_down` raises the interval.
pub async fn polled(db: impl PgExecutor<'_>, id: i64, interval_seconds: i32) -> Result<()> {
    sqlx::query("UPDATE device_authorizations SET last_polled_at = now(), interval_seconds = $2 WHERE id = $1")
        .bind(id)
        .bind(interval_seconds)
        .execute(db)
        .await?;
    Ok(())
}

/// The user's decision on a pending authorization; false when it was no longer pending.
pub async fn decide(
    db: impl PgExecutor<'_>,
    id: i64,
    user_id: i64,
    approved: bool,
    granted_scopes: &[String],
) -> Result<bool> {
    Ok(sqlx::query(
        "UPDATE device_authorizations SET status = $3, user_id = $2, granted_scopes = $4
         WHERE id = $1 AND status = 'pending' AND expires_at > now()",
    )
    .bind(id)
    .bind(user_id)
    .bind(if approved { "approved" } else { "denied" })
    .bind(granted_scopes)
    .execute(db)
    .await?
    .rows_affected()
        == 1)
}

pub async fn mark_device_used(db: impl PgExecutor<'_>, id: i64) -> Result<()> {
    sqlx::query("UPDATE device_authorizations SET status = 'used' WHERE id = $1").bind(id).execute(db).await?;
    Ok(())
}

/// Starts a grant.
pub async fn create_grant(
    db: impl PgExecutor<'_>,
    user_id: i64,
    client_id: &str,
    scopes: &[String],
    expires_at: OffsetDateTime,
) -> Result<i64> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO oauth_grants (user_id, client_id, scopes, expires_at) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(user_id)
    .bind(client_id)
    .bind(scopes)
    .bind(expires_at)
    .fetch_one(db)
    .await?;
    Ok(id)
}

/// A token pair of a grant.
#[derive(Debug)]
pub struct NewToken<'a> {
    pub grant_id: i64,
    pub access_hash: &'a [u8],
    pub refresh_hash: Option<&'a [u8]>,
    pub access_expires_at: OffsetDateTime,
    pub refresh_expires_at: Option<OffsetDateTime>,
}

pub async fn create_token(db: impl PgExecutor<'_>, new: &NewToken<'_>) -> Result<()> {
    sqlx::query(
        "INSERT INTO oauth_tokens (grant_id, access_hash, refresh_hash, access_expires_at, refresh_expires_at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(new.grant_id)
    .bind(new.access_hash)
    .bind(new.refresh_hash)
    .bind(new.access_expires_at)
    .bind(new.refresh_expires_at)
    .execute(db)
    .await?;
    Ok(())
}

/// A live token with its grant.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Token {
    pub id: i64,
    pub grant_id: i64,
    pub user_id: i64,
    pub client_id: String,
    pub scopes: Vec<String>,
    pub refresh_expires_at: Option<OffsetDateTime>,
}

const TOKEN: &str = "t.id, t.grant_id, g.user_id, g.client_id, g.scopes, t.refresh_expires_at
    FROM oauth_tokens t JOIN oauth_grants g ON g.id = t.grant_id";

/// The live token of an access token hash.
pub async fn by_access(db: impl PgExecutor<'_>, access_hash: &[u8]) -> Result<Option<Token>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {TOKEN} WHERE t.access_hash = $1 AND t.revoked_at IS NULL AND g.revoked_at IS NULL
         AND t.access_expires_at > now() AND g.expires_at > now()"
    ))
    .bind(access_hash)
    .fetch_optional(db)
    .await?)
}

/// The live token of a refresh token hash, locked for rotation.
pub async fn by_refresh_for_update(conn: &mut PgConnection, refresh_hash: &[u8]) -> Result<Option<Token>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {TOKEN} WHERE t.refresh_hash = $1 AND t.revoked_at IS NULL AND g.revoked_at IS NULL
         AND t.refresh_expires_at > now() AND g.expires_at > now() FOR UPDATE OF t"
    ))
    .bind(refresh_hash)
    .fetch_optional(conn)
    .await?)
}

pub async fn revoke_token(db: impl PgExecutor<'_>, id: i64) -> Result<()> {
    sqlx::query("UPDATE oauth_tokens SET revoked_at = now() WHERE id = $1").bind(id).execute(db).await?;
    Ok(())
}

/// Revokes the token whose access or refresh token hashes to `hash`; true if one was live.
pub async fn revoke_by_hash(db: impl PgExecutor<'_>, hash: &[u8]) -> Result<bool> {
    Ok(sqlx::query(
        "UPDATE oauth_tokens SET revoked_at = now()
         WHERE (access_hash = $1 OR refresh_hash = $1) AND revoked_at IS NULL",
    )
    .bind(hash)
    .execute(db)
    .await?
    .rows_affected()
        > 0)
}

/// Ends the grant a refresh token belongs to, with every token of it.
pub async fn revoke_grant_by_refresh(db: impl PgExecutor<'_>, refresh_hash: &[u8]) -> Result<bool> {
    Ok(sqlx::query(
        "UPDATE oauth_grants SET revoked_at = now()
         WHERE id = (SELECT grant_id FROM oauth_tokens WHERE refresh_hash = $1) AND revoked_at IS NULL",
    )
    .bind(refresh_hash)
    .execute(db)
    .await?
    .rows_affected()
        > 0)
}

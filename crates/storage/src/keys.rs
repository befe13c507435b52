//! API keys. Only an HMAC of each secret is stored; `secret_prefix` narrows the lookup.

use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use sqlx::{PgConnection, PgExecutor};
use time::OffsetDateTime;

use crate::Result;

/// A permission as stored: `{"domain": "api", "resource": "write"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredPermission {
    pub domain: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
}

/// A key row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Key {
    pub id: i64,
    /// The owner: a user, or an organization.
    pub user_id: Option<i64>,
    pub organization_id: Option<i64>,
    pub name: String,
    pub secret_hmac: Vec<u8>,
    pub permissions: Json<Vec<StoredPermission>>,
    pub revoked_at: Option<OffsetDateTime>,
    /// When the key stops working on its own.
    pub revoke_at: Option<OffsetDateTime>,
    pub last_used_at: Option<OffsetDateTime>,
    pub last_use_ip: Option<String>,
    pub last_use_user_agent: Option<String>,
    pub inserted_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

const COLUMNS: &str =
    "id, user_id, organization_id, name, secret_hmac, permissions, revoked_at, revoke_at, last_used_at, last_use_ip,
    last_use_user_agent, inserted_at, updated_at";

/// Whose a key is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    User(i64),
    Organization(i64),
}

impl Owner {
    fn columns(self) -> (Option<i64>, Option<i64>) {
        match self {
            Owner::User(id) => (Some(id), None),
            Owner::Organization(id) => (None, Some(id)),
        }
    }

    /// The condition selecting this owner's keys, with the user id as `$1` and the
    /// organization id as `$2`.
    const FILTER: &'static str = "user_id IS NOT DISTINCT FROM $1 AND organization_id IS NOT DISTINCT FROM $2";
}

/// A key to insert.
#[derive(Debug)]
pub struct NewKey<'a> {
    pub owner: Owner,
    pub name: &'a str,
    pub secret_prefix: &'a str,
    pub secret_hmac: &'a [u8],
    pub permissions: &'a [StoredPermission],
    pub revoke_at: Option<OffsetDateTime>,
}

/// Inserts a key; `None` when the user already has a live key of that name.
pub async fn create(conn: &mut PgConnection, new: &NewKey<'_>) -> Result<Option<Key>> {
    let (user_id, organization_id) = new.owner.columns();
    let conflict = if user_id.is_some() { "(user_id, name)" } else { "(organization_id, name)" };
    let key = sqlx::query_as(&format!(
        "INSERT INTO keys (user_id, organization_id, name, secret_prefix, secret_hmac, permissions, revoke_at)
         VALUES ($1, $7, $2, $3, $4, $5, $6)
         ON CONFLICT {conflict} WHERE revoked_at IS NULL DO NOTHING
         RETURNING {COLUMNS}"
    ))
    .bind(user_id)
    .bind(new.name)
    .bind(new.secret_prefix)
    .bind(new.secret_hmac)
    .bind(Json(new.permissions))
    .bind(new.revoke_at)
    .bind(organization_id)
    .fetch_optional(conn)
    .await?;
    Ok(key)
}

/// Live keys whose secret starts with `prefix`; the caller compares HMACs.
pub async fn candidates(db: impl PgExecutor<'_>, prefix: &str) -> Result<Vec<Key>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM keys WHERE secret_prefix = $1 AND revoked_at IS NULL
         AND (revoke_at IS NULL OR revoke_at > now())"
    ))
    .bind(prefix)
    .fetch_all(db)
    .await?)
}

/// The owner's live keys, by name.
pub async fn list(db: impl PgExecutor<'_>, owner: Owner) -> Result<Vec<Key>> {
    let (user_id, organization_id) = owner.columns();
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM keys WHERE {} AND revoked_at IS NULL ORDER BY name",
        Owner::FILTER
    ))
    .bind(user_id)
    .bind(organization_id)
    .fetch_all(db)
    .await?)
}

/// One of the owner's live keys.
pub async fn get(db: impl PgExecutor<'_>, owner: Owner, name: &str) -> Result<Option<Key>> {
    let (user_id, organization_id) = owner.columns();
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM keys WHERE {} AND name = $3 AND revoked_at IS NULL",
        Owner::FILTER
    ))
    .bind(user_id)
    .bind(organization_id)
    .bind(name)
    .fetch_optional(db)
    .await?)
}

/// Revokes one key; returns it as it was.
pub async fn revoke(db: impl PgExecutor<'_>, owner: Owner, name: &str) -> Result<Option<Key>> {
    let (user_id, organization_id) = owner.columns();
    Ok(sqlx::query_as(&format!(
        "UPDATE keys SET revoked_at = now(), updated_at = now()
         WHERE {} AND name = $3 AND revoked_at IS NULL RETURNING {COLUMNS}",
        Owner::FILTER
    ))
    .bind(user_id)
    .bind(organization_id)
    .bind(name)
    .fetch_optional(db)
    .await?)
}

/// Revokes every live key of the owner.
pub async fn revoke_all(db: impl PgExecutor<'_>, owner: Owner) -> Result<u64> {
    let (user_id, organization_id) = owner.columns();
    let sql = format!(
        "UPDATE keys SET revoked_at = now(), updated_at = now() WHERE {} AND revoked_at IS NULL",
        Owner::FILTER
    );
    Ok(sqlx::query(&sql).bind(user_id).bind(organization_id).execute(db).await?.rows_affected())
}

/// Records the last use of a key.
pub async fn touch(db: impl PgExecutor<'_>, id: i64, ip: Option<&str>, user_agent: Option<&str>) -> Result<()> {
    sqlx::query("UPDATE keys SET last_used_at = now(), last_use_ip = $2, last_use_user_agent = $3 WHERE id = $1")
        .bind(id)
        .bind(ip)
        .bind(user_agent)
        .execute(db)
        .await?;
    Ok(())
}

/// The names of the owner's live keys.
pub async fn live_names(db: impl PgExecutor<'_>, owner: Owner) -> Result<Vec<String>> {
    let (user_id, organization_id) = owner.columns();
    let rows: Vec<(String,)> =
        sqlx::query_as(&format!("SELECT name FROM keys WHERE {} AND revoked_at IS NULL", Owner::FILTER))
            .bind(user_id)
            .bind(organization_id)
            .fetch_all(db)
            .await?;
    Ok(rows.into_iter().map(|(n,)| n).collect())
}

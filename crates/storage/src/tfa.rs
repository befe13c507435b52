//! Two-factor state: the sealed TOTP secret, the last code step used, recovery codes.

use sqlx::{PgConnection, PgExecutor};

use crate::Result;

/// A user's 2FA row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Tfa {
    pub secret_sealed: Vec<u8>,
    pub enabled: bool,
    pub last_step: Option<i64>,
    pub last_holder: Option<String>,
}

pub async fn get(db: impl PgExecutor<'_>, user_id: i64) -> Result<Option<Tfa>> {
    Ok(sqlx::query_as("SELECT secret_sealed, enabled, last_step, last_holder FROM user_tfa WHERE user_id = $1")
        .bind(user_id)
        .fetch_optional(db)
        .await?)
}

/// Keeps a new secret awaiting its first code; an enabled 2FA is left alone.
pub async fn set_pending(db: impl PgExecutor<'_>, user_id: i64, secret_sealed: &[u8]) -> Result<()> {
    sqlx::query(
        "INSERT INTO user_tfa (user_id, secret_sealed) VALUES ($1, $2)
         ON CONFLICT (user_id) DO UPDATE SET secret_sealed = EXCLUDED.secret_sealed, updated_at = now()
         WHERE NOT user_tfa.enabled",
    )
    .bind(user_id)
    .bind(secret_sealed)
    .execute(db)
    .await?;
    Ok(())
}

/// Turns 2FA on with its recovery codes (hashed), recording the code step that confirmed it.
pub async fn enable(
    conn: &mut PgConnection,
    user_id: i64,
    step: i64,
    holder: &str,
    code_hashes: &[Vec<u8>],
) -> Result<()> {
    sqlx::query(
        "UPDATE user_tfa SET enabled = true, last_step = $2, last_holder = $3, updated_at = now() WHERE user_id = $1",
    )
    .bind(user_id)
    .bind(step)
    .bind(holder)
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1").bind(user_id).execute(&mut *conn).await?;
    for hash in code_hashes {
        sqlx::query("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)")
            .bind(user_id)
            .bind(hash)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Turns 2FA off, forgetting the secret and the recovery codes.
pub async fn disable(conn: &mut PgConnection, user_id: i64) -> Result<()> {
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1").bind(user_id).execute(&mut *conn).await?;
    sqlx::query("DELETE FROM user_tfa WHERE user_id = $1").bind(user_id).execute(&mut *conn).await?;
    Ok(())
}

/// Records the use of a newer step; false when a concurrent use got there first.
pub async fn record_use(db: impl PgExecutor<'_>, user_id: i64, step: i64, holder: &str) -> Result<bool> {
    Ok(sqlx::query(
        "UPDATE user_tfa SET last_step = $2, last_holder = $3
         WHERE user_id = $1 AND (last_step IS NULL OR last_step < $2)",
    )
    .bind(user_id)
    .bind(step)
    .bind(holder)
    .execute(db)
    .await?
    .rows_affected()
        == 1)
}

/// Spends a recovery code; false when it is unknown or used.
pub async fn use_recovery_code(db: impl PgExecutor<'_>, user_id: i64, code_hash: &[u8]) -> Result<bool> {
    Ok(sqlx::query(
        "UPDATE recovery_codes SET used_at = now() WHERE id = (
            SELECT id FROM recovery_codes WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL LIMIT 1)",
    )
    .bind(user_id)
    .bind(code_hash)
    .execute(db)
    .await?
    .rows_affected()
        == 1)
}

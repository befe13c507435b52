//! Users and their email addresses.

use sqlx::{PgConnection, PgExecutor};
use time::OffsetDateTime;

use crate::Result;

/// A user with their primary email.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub full_name: Option<String>,
    pub password_hash: Option<String>,
    pub email: Option<String>,
    pub email_verified: bool,
    pub email_public: bool,
    pub inserted_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

const SELECT: &str = "SELECT u.id, u.username, u.full_name, u.password_hash,
        e.email, coalesce(e.verified, false) AS email_verified, coalesce(e.is_public, false) AS email_public,
        u.inserted_at, u.updated_at
    FROM users u LEFT JOIN emails e ON e.user_id = u.id AND e.is_primary";

/// A new user: the password already hashed.
#[derive(Debug)]
pub struct NewUser<'a> {
    pub username: &'a str,
    pub email: &'a str,
    pub password_hash: Option<&'a str>,
    pub email_verified: bool,
    /// Take over an unconfirmed holder of the name or email at once, not only once its
    /// confirmation link expired (the operator's admin command).
    pub take_over_unconfirmed: bool,
}

/// Outcome of [`create`].
#[derive(Debug)]
pub enum Created {
    User(User),
    /// The username belongs to this account.
    UsernameTaken(User),
    EmailTaken,
}

/// How long an unconfirmed account holds its username and email: as long as its confirmation
/// link lives.
const UNCONFIRMED_HOLD: &str = "1 day";

/// Creates a user with a primary email. Registrations are serialized (a transaction-scoped
/// advisory lock), so concurrent ones of one name cannot both succeed. An account that never
/// confirmed its email, owns nothing and belongs to no organization gives way once its
/// confirmation link has expired; before that its name and email are taken.
pub async fn create(conn: &mut PgConnection, new: &NewUser<'_>) -> Result<Created> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(REGISTRATION_LOCK).execute(&mut *conn).await?;
    sqlx::query(&format!(
        "DELETE FROM users u WHERE (lower(u.username) = lower($1)
            OR u.id IN (SELECT user_id FROM emails WHERE lower(email) = lower($2)))
          AND ($3 OR u.inserted_at < now() - interval '{UNCONFIRMED_HOLD}')
          AND NOT EXISTS (SELECT 1 FROM emails e WHERE e.user_id = u.id AND e.verified)
          AND NOT EXISTS (SELECT 1 FROM package_owners o WHERE o.user_id = u.id)
          AND NOT EXISTS (SELECT 1 FROM organization_members m WHERE m.user_id = u.id)"
    ))
    .bind(new.username)
    .bind(new.email)
    .bind(new.take_over_unconfirmed)
    .execute(&mut *conn)
    .await?;
    if let Some(holder) = by_username(&mut *conn, new.username).await? {
        return Ok(Created::UsernameTaken(holder));
    }
    let taken: Option<(bool,)> = sqlx::query_as("SELECT true FROM emails WHERE lower(email) = lower($1)")
        .bind(new.email)
        .fetch_optional(&mut *conn)
        .await?;
    if taken.is_some() {
        return Ok(Created::EmailTaken);
    }
    let (id,): (i64,) = sqlx::query_as("INSERT INTO users (username, password_hash) VALUES ($1, $2) RETURNING id")
        .bind(new.username)
        .bind(new.password_hash)
        .fetch_one(&mut *conn)
        .await?;
    sqlx::query("INSERT INTO emails (user_id, email, verified, is_primary) VALUES ($1, $2, $3, true)")
        .bind(id)
        .bind(new.email)
        .bind(new.email_verified)
        .execute(&mut *conn)
        .await?;
    let user = by_id(&mut *conn, id).await?.expect("the user was just inserted");
    Ok(Created::User(user))
}

/// The advisory lock that serializes registrations.
const REGISTRATION_LOCK: i64 = 0x6865_7879_6172_6401;

/// By username (case-insensitive).
pub async fn by_username(db: impl PgExecutor<'_>, username: &str) -> Result<Option<User>> {
    Ok(sqlx::query_as(&format!("{SELECT} WHERE lower(u.username) = lower($1)"))
        .bind(username)
        .fetch_optional(db)
        .await?)
}

/// By username, or by an email address the user made public and confirmed: what anyone may
/// look up. A private or unconfirmed address finds nobody.
pub async fn by_name_or_public_email(db: impl PgExecutor<'_>, name_or_email: &str) -> Result<Option<User>> {
    Ok(sqlx::query_as(&format!(
        "{SELECT} WHERE lower(u.username) = lower($1)
            OR u.id IN (SELECT user_id FROM emails WHERE lower(email) = lower($1) AND verified AND is_public)
         ORDER BY (lower(u.username) = lower($1)) DESC LIMIT 1"
    ))
    .bind(name_or_email)
    .fetch_optional(db)
    .await?)
}

pub async fn by_id(db: impl PgExecutor<'_>, id: i64) -> Result<Option<User>> {
    Ok(sqlx::query_as(&format!("{SELECT} WHERE u.id = $1")).bind(id).fetch_optional(db).await?)
}

/// By username, or by any of the user's email addresses.
pub async fn by_name_or_email(db: impl PgExecutor<'_>, name_or_email: &str) -> Result<Option<User>> {
    Ok(sqlx::query_as(&format!(
        "{SELECT} WHERE lower(u.username) = lower($1)
            OR u.id IN (SELECT user_id FROM emails WHERE lower(email) = lower($1))
         ORDER BY (lower(u.username) = lower($1)) DESC LIMIT 1"
    ))
    .bind(name_or_email)
    .fetch_optional(db)
    .await?)
}

pub async fn set_full_name(db: impl PgExecutor<'_>, user_id: i64, full_name: &str) -> Result<()> {
    sqlx::query("UPDATE users SET full_name = $2, updated_at = now() WHERE id = $1")
        .bind(user_id)
        .bind(full_name)
        .execute(db)
        .await?;
    Ok(())
}

/// Stores the key of a confirmation mail for the user's primary email.
pub async fn set_verification_key(db: impl PgExecutor<'_>, user_id: i64, key_hash: &[u8]) -> Result<()> {
    sqlx::query(
        "UPDATE emails SET verification_key_hash = $2, verification_sent_at = now()
         WHERE user_id = $1 AND is_primary",
    )
    .bind(user_id)
    .bind(key_hash)
    .execute(db)
    .await?;
    Ok(())
}

/// Confirms the user's primary email if the key is theirs and under a day old.
pub async fn confirm_email(db: impl PgExecutor<'_>, user_id: i64, key_hash: &[u8]) -> Result<bool> {
    Ok(sqlx::query(
        "UPDATE emails SET verified = true, verification_key_hash = NULL, updated_at = now()
         WHERE user_id = $1 AND is_primary AND verification_key_hash = $2
           AND verification_sent_at > now() - interval '1 day'",
    )
    .bind(user_id)
    .bind(key_hash)
    .execute(db)
    .await?
    .rows_affected()
        == 1)
}

/// Records a password reset key for the user's primary email.
pub async fn create_password_reset(db: impl PgExecutor<'_>, user_id: i64, key_hash: &[u8], email: &str) -> Result<()> {
    sqlx::query("INSERT INTO password_resets (user_id, key_hash, email) VALUES ($1, $2, $3)")
        .bind(user_id)
        .bind(key_hash)
        .bind(email)
        .execute(db)
        .await?;
    Ok(())
}

/// Whether a reset key is live for the user.
pub async fn password_reset_live(db: impl PgExecutor<'_>, user_id: i64, key_hash: &[u8]) -> Result<bool> {
    let row: Option<(i64,)> = sqlx::query_as(
        "SELECT id FROM password_resets WHERE user_id = $1 AND key_hash = $2 AND used_at IS NULL
         AND inserted_at > now() - interval '1 day'",
    )
    .bind(user_id)
    .bind(key_hash)
    .fetch_optional(db)
    .await?;
    Ok(row.is_some())
}

/// Sets a new password with a live reset key, and ends every session and OAuth grant of the
/// user and every other outstanding reset. False when the key is not live.
pub async fn reset_password(
    conn: &mut sqlx::PgConnection,
    user_id: i64,
    key_hash: &[u8],
    password_hash: &str,
) -> Result<bool> {
    let used = sqlx::query(
        "UPDATE password_resets SET used_at = now() WHERE user_id = $1 AND key_hash = $2 AND used_at IS NULL
         AND inserted_at > now() - interval '1 day'",
    )
    .bind(user_id)
    .bind(key_hash)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if used != 1 {
        return Ok(false);
    }
    sqlx::query("UPDATE password_resets SET used_at = now() WHERE user_id = $1 AND used_at IS NULL")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    change_password(conn, user_id, password_hash, None).await?;
    Ok(true)
}

/// Sets a user's password and ends their sessions (all but `keep_session`) and every OAuth
/// grant of theirs: a changed password locks out whoever else knew the old one.
pub async fn change_password(
    conn: &mut sqlx::PgConnection,
    user_id: i64,
    password_hash: &str,
    keep_session: Option<i64>,
) -> Result<()> {
    sqlx::query("UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1")
        .bind(user_id)
        .bind(password_hash)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "UPDATE sessions SET revoked_at = now() WHERE user_id = $1 AND id IS DISTINCT FROM $2 AND revoked_at IS NULL",
    )
    .bind(user_id)
    .bind(keep_session)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE oauth_grants SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

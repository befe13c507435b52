//! Browser sessions: signing in with a password (throttled per address), the second factor,
//! the session of a cookie, and what the account page shows. The cookie carries a random
//! token; only its SHA-256 is stored.

use hexyard_auth::tokens::{random_token, sha256};
use hexyard_core::Role;
use hexyard_storage::keys::{self, Key};
use hexyard_storage::orgs::Organization;
use hexyard_storage::sessions::{self, NewSession, Session};
use hexyard_storage::users::{self, User};
use hexyard_storage::{audit, tfa as stored_tfa};
use serde_json::json;
use time::{Duration, OffsetDateTime};

use crate::principal::password_matches;
use crate::{Origin, Result, Services, tfa, throttle};

const SESSION_LIFETIME: Duration = Duration::days(30);

/// hex.pm's sign-in throttle: 10 attempts per 15 minutes from one address.
const SIGN_INS_ALLOWED: i64 = 10;
const SIGN_IN_WINDOW: i64 = 15 * 60;

/// What a sign-in came to.
#[derive(Debug)]
pub enum SignIn {
    /// A session: the cookie's token, and whether the second factor is still to come.
    Started {
        token: String,
        tfa_pending: bool,
    },
    WrongPassword,
    Throttled,
}

/// Signs in with a username (or email) and password.
pub async fn sign_in(services: &Services, username: &str, password: String, origin: &Origin) -> Result<SignIn> {
    let address = origin.ip.as_deref().unwrap_or("unknown");
    if !throttle::attempt(services, &format!("login:{address}"), SIGN_INS_ALLOWED, SIGN_IN_WINDOW).await? {
        return Ok(SignIn::Throttled);
    }
    let user = users::by_name_or_email(&services.db, username.trim()).await?;
    let hash = user.as_ref().and_then(|u| u.password_hash.clone());
    let Some(user) = user.filter(|_| hash.is_some()) else { return Ok(SignIn::WrongPassword) };
    if !password_matches(hash, password).await? {
        return Ok(SignIn::WrongPassword);
    }
    let token = random_token(32);
    // with 2FA on, the session is only half open until the code is given
    let tfa_pending = tfa::enabled(services, user.id).await?;
    let new = NewSession {
        user_id: user.id,
        token_hash: &sha256(&token),
        csrf_token: &random_token(16),
        ip: origin.ip.as_deref(),
        user_agent: origin.user_agent.as_deref(),
        expires_at: OffsetDateTime::now_utc() + SESSION_LIFETIME,
        tfa_pending,
    };
    sessions::create(&services.db, &new).await?;
    audit::record(&services.db, &origin.actor(Some(user.id)), "session.create", json!({})).await?;
    Ok(SignIn::Started { token, tfa_pending })
}

/// The live session of a cookie's token, with its user.
pub async fn by_token(services: &Services, token: &str) -> Result<Option<(Session, User)>> {
    let Some(session) = sessions::by_token(&services.db, &sha256(token)).await? else { return Ok(None) };
    let user = users::by_id(&services.db, session.user_id).await?;
    Ok(user.map(|u| (session, u)))
}

/// Ends one of the user's sessions.
pub async fn revoke(services: &Services, user_id: i64, session_id: i64) -> Result<bool> {
    Ok(sessions::revoke(&services.db, user_id, session_id).await?)
}

/// The second step of signing in: a TOTP code, or a recovery code (they hold a dash). True
/// when the session is now a full one.
pub async fn second_factor(
    services: &Services,
    session: &Session,
    user: &User,
    code: &str,
    origin: &Origin,
) -> Result<bool> {
    let code = code.trim();
    let recovery = code.contains('-');
    let ok = if recovery {
        let hash = sha256(&hexyard_totp::normalize_recovery_code(code));
        stored_tfa::use_recovery_code(&services.db, user.id, &hash).await?
    } else {
        tfa::check_code(services, user.id, code, &holder(session)).await?
    };
    if !ok {
        return Ok(false);
    }
    sessions::complete_tfa(&services.db, session.id).await?;
    let how = if recovery { "recovery_code" } else { "totp" };
    audit::record(&services.db, &origin.actor(Some(user.id)), "session.tfa", json!({"method": how})).await?;
    Ok(true)
}

/// Who holds a code given through a session, for the replay rule.
pub(crate) fn holder(session: &Session) -> String {
    format!("session:{}", session.id)
}

/// What the account page shows.
#[derive(Debug)]
pub struct Account {
    pub tfa_enabled: bool,
    pub organizations: Vec<(Organization, Role)>,
    pub keys: Vec<Key>,
    pub sessions: Vec<Session>,
}

pub async fn account(services: &Services, user_id: i64) -> Result<Account> {
    Ok(Account {
        tfa_enabled: tfa::enabled(services, user_id).await?,
        organizations: crate::orgs::of_user(services, user_id).await?,
        keys: keys::list(&services.db, keys::Owner::User(user_id)).await?,
        sessions: sessions::of_user(&services.db, user_id).await?,
    })
}

/// A random token for a form's CSRF field before sign-in (the double-submit cookie).
pub fn new_csrf_token() -> String {
    random_token(16)
}

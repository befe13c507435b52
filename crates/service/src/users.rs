//! Accounts: registration (with the confirmation mail), profiles, and the password reset by
//! mail.

use hexyard_auth::tokens::{random_token, sha256};
use hexyard_core::{Email, UserRef, Username};
use hexyard_storage::packages::{self, Package};
use hexyard_storage::users::{self, Created, NewUser, User};
use hexyard_storage::{audit, orgs::Organization};
use serde_json::{Map, json};

use crate::principal::password_matches;
use crate::{Error, Origin, Principal, Result, Services};

/// The shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 7;

/// A registration as sent.
#[derive(Debug, Clone, Default)]
pub struct Registration {
    pub username: Option<String>,
    pub email: Option<String>,
    pub password: Option<String>,
    pub full_name: Option<String>,
}

struct Valid {
    username: Username,
    email: Email,
    password: String,
}

fn validate(r: &Registration) -> Result<Valid> {
    let mut errors = Map::new();
    let username = Username::parse(r.username.as_deref().unwrap_or_default())
        .map_err(|e| errors.insert("username".into(), json!(e.to_string())))
        .ok();
    let email = Email::parse(r.email.as_deref().unwrap_or_default())
        .map_err(|e| errors.insert("email".into(), json!(e.to_string())))
        .ok();
    let password = r.password.clone().unwrap_or_default();
    if password.chars().count() < MIN_PASSWORD_CHARS {
        errors.insert("password".into(), json!(format!("should be at least {MIN_PASSWORD_CHARS} character(s)")));
    }
    match (username, email) {
        (Some(username), Some(email)) if errors.is_empty() => Ok(Valid { username, email, password }),
        _ => Err(Error::Invalid(errors)),
    }
}

pub(crate) async fn hash(password: String) -> Result<String> {
    Ok(tokio::task::spawn_blocking(move || hexyard_auth::hash_password(&password)).await?)
}

/// `POST /api/users`: registers an account whose email starts unconfirmed, and mails the link
/// that confirms it. Registrations are atomic: of concurrent ones for one name, one wins. The
/// same registration sent again while the account is unconfirmed (same username, email and
/// password: a retry, or a lost mail) answers the same account and mails a new link; any other
/// finds the name or email taken until the unconfirmed account's link expires (24 h).
pub async fn register(services: &Services, registration: &Registration, origin: &Origin) -> Result<User> {
    let valid = validate(registration)?;
    let password_hash = hash(valid.password.clone()).await?;
    let mut tx = services.db.begin().await?;
    let new = NewUser {
        username: valid.username.as_str(),
        email: valid.email.as_str(),
        password_hash: Some(&password_hash),
        email_verified: false,
        take_over_unconfirmed: false,
    };
    let user = match users::create(&mut tx, &new).await? {
        Created::User(user) => {
            if let Some(full_name) = registration.full_name.as_deref().filter(|n| !n.trim().is_empty()) {
                users::set_full_name(&mut *tx, user.id, full_name).await?;
            }
            let actor = origin.actor(Some(user.id));
            audit::record(&mut *tx, &actor, "user.create", json!({"username": user.username})).await?;
            tx.commit().await?;
            user
        }
        Created::UsernameTaken(holder) if is_retry(&holder, &valid).await? => {
            tx.rollback().await?;
            holder
        }
        Created::UsernameTaken(_) => return Err(Error::field("username", "has already been taken")),
        Created::EmailTaken => return Err(Error::field("email", "already in use")),
    };
    let user = users::by_id(&services.db, user.id).await?.ok_or(Error::NotFound)?;
    send_confirmation(services, &user).await?;
    Ok(user)
}

/// Whether a registration repeats the one that made an account still unconfirmed.
async fn is_retry(holder: &User, valid: &Valid) -> Result<bool> {
    let same_email = holder.email.as_deref().is_some_and(|e| e.eq_ignore_ascii_case(valid.email.as_str()));
    if holder.email_verified || !same_email {
        return Ok(false);
    }
    password_matches(holder.password_hash.clone(), valid.password.clone()).await
}

/// `hexyard admin user create`: an account made by the operator, confirmed or not; the
/// password (if any) already read. The operator may use names of 1 or 2 characters, and takes
/// over an unconfirmed account's name or email at once.
pub async fn create_by_admin(
    services: &Services,
    username: &str,
    email: &str,
    password: Option<String>,
    confirmed: bool,
) -> Result<User> {
    let username = Username::parse_existing(username).map_err(|e| Error::field("username", e.to_string()))?;
    let email = Email::parse(email).map_err(|e| Error::field("email", e.to_string()))?;
    let password_hash = match password {
        Some(p) if p.chars().count() < MIN_PASSWORD_CHARS => {
            return Err(Error::field("password", format!("should be at least {MIN_PASSWORD_CHARS} character(s)")));
        }
        Some(p) => Some(hash(p).await?),
        None => None,
    };
    let mut tx = services.db.begin().await?;
    let new = NewUser {
        username: username.as_str(),
        email: email.as_str(),
        password_hash: password_hash.as_deref(),
        email_verified: confirmed,
        // the operator's word: an unconfirmed holder of the name or email gives way at once
        take_over_unconfirmed: true,
    };
    let user = match users::create(&mut tx, &new).await? {
        Created::User(user) => user,
        Created::UsernameTaken(_) => return Err(Error::field("username", "has already been taken")),
        Created::EmailTaken => return Err(Error::field("email", "already in use")),
    };
    let actor = audit::Actor { user_id: Some(user.id), user_agent: Some("hexyard admin".into()), ..Default::default() };
    audit::record(&mut *tx, &actor, "user.create", json!({"username": user.username, "by": "admin"})).await?;
    tx.commit().await?;
    Ok(user)
}

/// A user as anyone may look them up: by username, or by an email they made public and
/// confirmed; with the public repository's packages they own.
pub async fn profile(services: &Services, who: &UserRef) -> Result<(User, Vec<Package>)> {
    let user = users::by_name_or_public_email(&services.db, who.as_str()).await?.ok_or(Error::NotFound)?;
    let owned = packages::owned_by(&services.db, user.id, &[services.public().id]).await?;
    Ok((user, owned))
}

/// The caller: their account, their packages and their organizations with roles.
pub async fn me(
    services: &Services,
    principal: &Principal,
) -> Result<(User, Vec<Package>, Vec<(Organization, hexyard_core::Role)>)> {
    principal.require_api_read()?;
    let user = principal.user()?.clone();
    let owned = packages::owned_by(&services.db, user.id, &[services.public().id]).await?;
    let orgs = crate::orgs::of_user(services, user.id).await?;
    Ok((user, owned, orgs))
}

/// Mails the link that confirms the user's primary email. A mail that cannot be sent is
/// logged; registering again sends another.
async fn send_confirmation(services: &Services, user: &User) -> Result<()> {
    let Some(email) = &user.email else { return Ok(()) };
    let key = random_token(16);
    users::set_verification_key(&services.db, user.id, &sha256(&key)).await?;
    let base = &services.settings.public_url;
    let link = format!("{base}/email/verify?username={}&key={key}", user.username);
    let body = format!(
        "Hello {},\n\nconfirm your email address for {base} by opening this link within 24 hours:\n\n{link}\n\n\
         If you did not create this account, ignore this mail.\n",
        user.username
    );
    if let Err(e) = services.mailer.send(email, "Confirm your email address", body).await {
        tracing::error!(error = %e, "the confirmation mail could not be sent");
    }
    Ok(())
}

/// `POST /api/users/{name_or_email}/reset`: mails a link to a page that sets a new password.
pub async fn request_password_reset(services: &Services, who: &UserRef, origin: &Origin) -> Result<()> {
    let user = users::by_name_or_email(&services.db, who.as_str()).await?.ok_or(Error::NotFound)?;
    let Some(email) = user.email.clone() else { return Err(Error::NotFound) };
    let key = random_token(16);
    users::create_password_reset(&services.db, user.id, &sha256(&key), &email).await?;
    audit::record(&services.db, &origin.actor(Some(user.id)), "password.reset.init", json!({})).await?;
    let link = format!("{}/password/new?username={}&key={key}", services.settings.public_url, user.username);
    let body = format!(
        "Hello {},\n\nset a new password by opening this link within 24 hours:\n\n{link}\n\n\
         Setting it signs you out everywhere. If you did not ask for this, ignore this mail.\n",
        user.username
    );
    services
        .mailer
        .send(&email, "Reset your password", body)
        .await
        .map_err(|e| Error::internal("sending the password reset mail", e))
}

/// Confirms an email with the key of its mail; false when the link is invalid or expired.
pub async fn confirm_email(services: &Services, username: &str, key: &str, origin: &Origin) -> Result<bool> {
    let Some(user) = users::by_name_or_email(&services.db, username).await? else { return Ok(false) };
    if !users::confirm_email(&services.db, user.id, &sha256(key)).await? {
        return Ok(false);
    }
    audit::record(&services.db, &origin.actor(Some(user.id)), "email.verify", json!({})).await?;
    Ok(true)
}

/// Whether a password reset link is live.
pub async fn reset_link_live(services: &Services, username: &str, key: &str) -> Result<bool> {
    let Some(user) = users::by_name_or_email(&services.db, username).await? else { return Ok(false) };
    Ok(users::password_reset_live(&services.db, user.id, &sha256(key)).await?)
}

/// Sets a new password with a live reset key, signing the user out of every session and OAuth
/// grant; false when the link is invalid or expired.
pub async fn reset_password(
    services: &Services,
    username: &str,
    key: &str,
    password: String,
    origin: &Origin,
) -> Result<bool> {
    let Some(user) = users::by_name_or_email(&services.db, username).await? else { return Ok(false) };
    let password_hash = hash(password).await?;
    let mut tx = services.db.begin().await?;
    if !users::reset_password(&mut tx, user.id, &sha256(key), &password_hash).await? {
        return Ok(false);
    }
    audit::record(&mut *tx, &origin.actor(Some(user.id)), "password.reset.finish", json!({})).await?;
    tx.commit().await?;
    Ok(true)
}

/// A user by username or any of their email addresses, for the operator's commands.
pub async fn find(services: &Services, name_or_email: &str) -> Result<User> {
    users::by_name_or_email(&services.db, name_or_email).await?.ok_or(Error::NotFound)
}

/// Changes the signed-in user's password once the current one is given; every other session and
/// every OAuth grant ends (the session `keep` stays). False when the current password is wrong.
pub async fn change_password(
    services: &Services,
    user: &User,
    current: String,
    new: String,
    keep: i64,
    origin: &Origin,
) -> Result<bool> {
    if new.chars().count() < MIN_PASSWORD_CHARS {
        return Err(Error::field("password", format!("should be at least {MIN_PASSWORD_CHARS} character(s)")));
    }
    let stored = users::by_id(&services.db, user.id).await?.ok_or(Error::NotFound)?;
    if !password_matches(stored.password_hash, current).await? {
        return Ok(false);
    }
    let password_hash = hash(new).await?;
    let mut tx = services.db.begin().await?;
    users::change_password(&mut tx, user.id, &password_hash, Some(keep)).await?;
    audit::record(&mut *tx, &origin.actor(Some(user.id)), "password.update", json!({})).await?;
    tx.commit().await?;
    Ok(true)
}

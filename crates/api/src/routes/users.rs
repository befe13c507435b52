//! `/api/users`.

use actix_web::http::header;
use actix_web::{HttpRequest, web};
use hexyard_auth::tokens::{random_token, sha256};
use hexyard_storage::users::{Created, NewUser};
use hexyard_storage::{audit, packages, users};
use serde::Deserialize;
use serde_json::{Map, json};

use crate::error::ApiError;
use crate::media::{Body, Reply};
use crate::principal::{MaybePrincipal, actor_of};
use crate::state::AppState;
use crate::views;

#[derive(Debug, Deserialize)]
pub struct CreateUser {
    username: Option<String>,
    email: Option<String>,
    password: Option<String>,
    full_name: Option<String>,
}

/// `POST /api/users`: registers an account; its email starts unverified.
#[tracing::instrument(skip_all)]
pub async fn create_user(
    state: web::Data<AppState>,
    req: HttpRequest,
    Body(body): Body<CreateUser>,
) -> Result<Reply, ApiError> {
    let (username, email, password) = validate(&body)?;
    let hash = tokio::task::spawn_blocking(move || hexyard_auth::hash_password(&password))
        .await
        .map_err(ApiError::internal)?;
    let mut tx = state.db.begin().await?;
    let new = NewUser { username: &username, email: &email, password_hash: Some(&hash), email_verified: false };
    let user = match users::create(&mut tx, &new).await? {
        Created::User(user) => user,
        Created::UsernameTaken => return Err(ApiError::field("username", "has already been taken")),
        Created::EmailTaken => return Err(ApiError::field("email", "already in use")),
    };
    if let Some(full_name) = body.full_name.as_deref().filter(|n| !n.trim().is_empty()) {
        users::set_full_name(&mut *tx, user.id, full_name).await?;
    }
    let actor = audit::Actor { user_id: Some(user.id), ..actor_of(&req) };
    audit::record(&mut *tx, &actor, "user.create", json!({"username": username})).await?;
    tx.commit().await?;
    let user = users::by_id(&state.db, user.id).await?.ok_or_else(ApiError::not_found)?;
    send_confirmation(&state, &user).await?;
    let location = state.api_url(&format!("/users/{}", user.username));
    Ok(Reply::created(views::user(&state, &user, &[], true)).header(header::LOCATION, location))
}

fn validate(body: &CreateUser) -> Result<(String, String, String), ApiError> {
    let mut errors = Map::new();
    let username = body.username.clone().unwrap_or_default();
    if username.len() < 3 || username.len() > 40 {
        errors.insert("username".into(), json!("should be 3 to 40 character(s)"));
    } else if !username.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b)) {
        errors.insert("username".into(), json!("has invalid format"));
    }
    let email = body.email.clone().unwrap_or_default();
    let valid_email = email.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty() && domain.contains('.') && !email.contains(char::is_whitespace)
    });
    if !valid_email || email.len() > 254 {
        errors.insert("email".into(), json!("has invalid format"));
    }
    let password = body.password.clone().unwrap_or_default();
    if password.chars().count() < 7 {
        errors.insert("password".into(), json!("should be at least 7 character(s)"));
    }
    if errors.is_empty() { Ok((username, email, password)) } else { Err(ApiError::validation(errors)) }
}

/// `GET /api/users/{name_or_email}`.
#[tracing::instrument(skip_all)]
pub async fn get_user(state: web::Data<AppState>, path: web::Path<String>) -> Result<Reply, ApiError> {
    let user = users::by_name_or_email(&state.db, &path).await?.ok_or_else(ApiError::not_found)?;
    let owned = packages::owned_by(&state.db, user.id, &[state.public.id]).await?;
    Ok(Reply::ok(views::user(&state, &user, &owned, false)))
}

/// `GET /api/users/me`: with `organizations` always present, as mix requires.
#[tracing::instrument(skip_all)]
pub async fn get_me(state: web::Data<AppState>, principal: MaybePrincipal) -> Result<Reply, ApiError> {
    let principal = principal.required()?;
    principal.require_api_read()?;
    let owned = packages::owned_by(&state.db, principal.user()?.id, &[state.public.id]).await?;
    let mut body = views::user(&state, principal.user()?, &owned, true);
    let orgs = hexyard_storage::orgs::of_user(&state.db, principal.user()?.id).await?;
    body["organizations"] = orgs.iter().map(|(org, role)| json!({"name": org.name, "role": role})).collect();
    Ok(Reply::ok(body))
}

/// Mails the link that confirms the user's primary email. A mail that cannot be sent is
/// logged; the account can simply be registered again.
async fn send_confirmation(state: &AppState, user: &users::User) -> Result<(), ApiError> {
    let Some(email) = &user.email else { return Ok(()) };
    let key = random_token(16);
    users::set_verification_key(&state.db, user.id, &sha256(&key)).await?;
    let link = format!("{}/email/verify?username={}&key={key}", state.config.public_url, user.username);
    let body = format!(
        "Hello {},\n\nconfirm your email address for {} by opening this link within 24 hours:\n\n{link}\n\n\
         If you did not create this account, ignore this mail.\n",
        user.username, state.config.public_url
    );
    if let Err(e) = state.mailer.send(email, "Confirm your email address", body).await {
        tracing::error!(error = %e, "the confirmation mail could not be sent");
    }
    Ok(())
}

/// `POST /api/users/{name_or_email}/reset`: mails a link to a page that sets a new password.
#[tracing::instrument(skip_all)]
pub async fn reset_password(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<Reply, ApiError> {
    let user = users::by_name_or_email(&state.db, &path).await?.ok_or_else(ApiError::not_found)?;
    let Some(email) = user.email.clone() else { return Err(ApiError::not_found()) };
    let key = random_token(16);
    users::create_password_reset(&state.db, user.id, &sha256(&key), &email).await?;
    let actor = audit::Actor { user_id: Some(user.id), ..actor_of(&req) };
    audit::record(&state.db, &actor, "password.reset.init", json!({})).await?;
    let link = format!("{}/password/new?username={}&key={key}", state.config.public_url, user.username);
    let body = format!(
        "Hello {},\n\nset a new password by opening this link within 24 hours:\n\n{link}\n\n\
         Setting it signs you out everywhere. If you did not ask for this, ignore this mail.\n",
        user.username
    );
    state.mailer.send(&email, "Reset your password", body).await.map_err(ApiError::internal)?;
    Ok(Reply::no_content())
}

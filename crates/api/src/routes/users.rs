//! `/api/users`.

use actix_web::http::header;
use actix_web::{HttpRequest, web};
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
    let owned = packages::owned_by(&state.db, principal.user.id, &[state.public.id]).await?;
    let mut body = views::user(&state, &principal.user, &owned, true);
    body["organizations"] = json!([]);
    Ok(Reply::ok(body))
}

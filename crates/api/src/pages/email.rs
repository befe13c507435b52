//! The pages behind the links of mails: confirming an email, setting a new password.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use hexyard_auth::tokens::{random_token, sha256};
use hexyard_storage::{audit, users};
use serde::Deserialize;
use serde_json::json;

use super::html::{csrf_field, esc, page};
use super::session::{CSRF_COOKIE, cookie, csrf_ok};
use crate::error::ApiError;
use crate::principal::actor_of;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct KeyQuery {
    username: String,
    key: String,
}

/// `GET /email/verify?username=&key=`.
pub async fn verify_email(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<KeyQuery>,
) -> Result<HttpResponse, ApiError> {
    let user = users::by_name_or_email(&state.db, &query.username).await?;
    let confirmed = match &user {
        Some(u) => users::confirm_email(&state.db, u.id, &sha256(&query.key)).await?,
        None => false,
    };
    if let (true, Some(u)) = (confirmed, user) {
        let actor = audit::Actor { user_id: Some(u.id), ..actor_of(&req) };
        audit::record(&state.db, &actor, "email.verify", json!({})).await?;
        return Ok(page(
            StatusCode::OK,
            "Email confirmed",
            "<p>Your email address is confirmed. You may publish now.</p>",
        ));
    }
    Ok(page(
        StatusCode::NOT_FOUND,
        "Email not confirmed",
        "<p class=\"error\">This link is invalid or has expired.</p>",
    ))
}

/// `GET /password/new?username=&key=`: the form for a new password.
pub async fn new_password_form(
    state: web::Data<AppState>,
    query: web::Query<KeyQuery>,
) -> Result<HttpResponse, ApiError> {
    let user = users::by_name_or_email(&state.db, &query.username).await?;
    let live = match &user {
        Some(u) => users::password_reset_live(&state.db, u.id, &sha256(&query.key)).await?,
        None => false,
    };
    if !live {
        return Ok(page(
            StatusCode::NOT_FOUND,
            "Reset your password",
            "<p class=\"error\">This link is invalid or has expired.</p>",
        ));
    }
    Ok(form_page(&state, &query.username, &query.key, None))
}

fn form_page(state: &AppState, username: &str, key: &str, error: Option<&str>) -> HttpResponse {
    let csrf = random_token(16);
    let error = error.map(|e| format!("<p class=\"error\">{}</p>", esc(e))).unwrap_or_default();
    let body = format!(
        "{error}<form method=\"post\" action=\"/password/new\">{}\
         <input type=\"hidden\" name=\"username\" value=\"{}\"><input type=\"hidden\" name=\"key\" value=\"{}\">\
         <label>New password <input name=\"password\" type=\"password\" autocomplete=\"new-password\" required></label>\
         <label>Again <input name=\"confirmation\" type=\"password\" autocomplete=\"new-password\" required></label>\
         <button>Set the password</button></form>",
        csrf_field(&csrf),
        esc(username),
        esc(key),
    );
    let status = if error.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let mut response = page(status, "Reset your password", &body);
    response.add_cookie(&cookie(state, CSRF_COOKIE, csrf)).ok();
    response
}

#[derive(Debug, Deserialize)]
pub struct NewPasswordForm {
    csrf: Option<String>,
    username: String,
    key: String,
    password: String,
    confirmation: String,
}

/// `POST /password/new`: sets the password and signs the user out of every session and OAuth grant.
pub async fn new_password(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<NewPasswordForm>,
) -> Result<HttpResponse, ApiError> {
    let expected = req.cookie(CSRF_COOKIE).map(|c| c.value().to_owned()).unwrap_or_default();
    if !csrf_ok(&expected, form.csrf.as_deref()) {
        return Ok(form_page(&state, &form.username, &form.key, Some("the form expired, please try again")));
    }
    if form.password.chars().count() < 8 {
        return Ok(form_page(&state, &form.username, &form.key, Some("the password needs at least 8 characters")));
    }
    if form.password != form.confirmation {
        return Ok(form_page(&state, &form.username, &form.key, Some("the two passwords differ")));
    }
    let invalid = || {
        page(
            StatusCode::NOT_FOUND,
            "Reset your password",
            "<p class=\"error\">This link is invalid or has expired.</p>",
        )
    };
    let Some(user) = users::by_name_or_email(&state.db, &form.username).await? else { return Ok(invalid()) };
    let password = form.password.clone();
    let hash = tokio::task::spawn_blocking(move || hexyard_auth::hash_password(&password))
        .await
        .map_err(ApiError::internal)?;
    let mut tx = state.db.begin().await?;
    if !users::reset_password(&mut tx, user.id, &sha256(&form.key), &hash).await? {
        return Ok(invalid());
    }
    let actor = audit::Actor { user_id: Some(user.id), ..actor_of(&req) };
    audit::record(&mut *tx, &actor, "password.reset.finish", json!({})).await?;
    tx.commit().await?;
    Ok(page(
        StatusCode::OK,
        "Password changed",
        "<p>Your password is set, and every session and device token was signed out. <a href=\"/login\">Sign in</a>.</p>",
    ))
}

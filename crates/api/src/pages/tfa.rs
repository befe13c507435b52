//! 2FA in the browser: the second step of signing in (a TOTP code or a recovery code),
//! enrolment with a QR code drawn here and ten recovery codes shown once, and turning it off.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use hexyard_auth::tokens::sha256;
use hexyard_storage::{audit, sessions, tfa};
use serde::Deserialize;
use serde_json::json;

use super::html::{csrf_field, esc, page};
use super::redirect;
use super::session::{PageError, PendingLogin, Viewer, csrf_ok, safe_return_to};
use crate::error::ApiError;
use crate::otp::{check_code, now};
use crate::principal::actor_of;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct ReturnTo {
    return_to: Option<String>,
}

pub async fn second_factor_form(pending: PendingLogin, query: web::Query<ReturnTo>) -> HttpResponse {
    let Some((session, _)) = pending.0 else { return redirect("/login") };
    second_factor_page(&session.csrf_token, query.return_to.as_deref(), None)
}

fn second_factor_page(csrf: &str, return_to: Option<&str>, error: Option<&str>) -> HttpResponse {
    let error = error.map(|e| format!("<p class=\"error\">{}</p>", esc(e))).unwrap_or_default();
    let body = format!(
        "{error}<form method=\"post\" action=\"/login/tfa\">{}<input type=\"hidden\" name=\"return_to\" value=\"{}\">\
         <label>Code from your authenticator app, or a recovery code \
         <input name=\"code\" autocomplete=\"one-time-code\" required></label><button>Continue</button></form>",
        csrf_field(csrf),
        esc(&safe_return_to(return_to)),
    );
    page(if error.is_empty() { StatusCode::OK } else { StatusCode::UNAUTHORIZED }, "Two-factor authentication", &body)
}

#[derive(Debug, Deserialize)]
pub struct CodeForm {
    csrf: Option<String>,
    code: String,
    return_to: Option<String>,
}

pub async fn second_factor(
    state: web::Data<AppState>,
    req: HttpRequest,
    pending: PendingLogin,
    form: web::Form<CodeForm>,
) -> Result<HttpResponse, ApiError> {
    let Some((session, user)) = pending.0 else { return Ok(redirect("/login")) };
    if !csrf_ok(&session.csrf_token, form.csrf.as_deref()) {
        return Err(ApiError::forbidden("invalid CSRF token"));
    }
    let code = form.code.trim();
    let ok = if code.contains('-') {
        let hash = sha256(&hexyard_totp::normalize_recovery_code(code));
        tfa::use_recovery_code(&state.db, user.id, &hash).await?
    } else {
        check_code(&state, user.id, code, &format!("session:{}", session.id)).await?
    };
    if !ok {
        let error = "invalid two-factor authentication code";
        return Ok(second_factor_page(&session.csrf_token, form.return_to.as_deref(), Some(error)));
    }
    sessions::complete_tfa(&state.db, session.id).await?;
    let actor = audit::Actor { user_id: Some(user.id), ..actor_of(&req) };
    let how = if code.contains('-') { "recovery_code" } else { "totp" };
    audit::record(&state.db, &actor, "session.tfa", json!({"method": how})).await?;
    Ok(redirect(&safe_return_to(form.return_to.as_deref())))
}

/// `/account/tfa`: the state of 2FA; when off, a fresh secret to enrol with.
pub async fn settings(state: web::Data<AppState>, req: HttpRequest, viewer: Viewer) -> Result<HttpResponse, PageError> {
    let (session, user) = viewer.signed_in(&req)?;
    let csrf = csrf_field(&session.csrf_token);
    if tfa::get(&state.db, user.id).await?.is_some_and(|t| t.enabled) {
        let body = format!(
            "<p>Two-factor authentication is on.</p><form method=\"post\" action=\"/account/tfa/disable\">{csrf}\
             <label>Current code <input name=\"code\" autocomplete=\"one-time-code\" required></label>\
             <button>Turn it off</button></form>"
        );
        return Ok(page(StatusCode::OK, "Two-factor authentication", &body));
    }
    let secret = hexyard_totp::new_secret();
    tfa::set_pending(&state.db, user.id, &state.sealer.seal(&secret)).await?;
    let url = hexyard_totp::otpauth_url(&secret, &user.username).map_err(ApiError::internal)?;
    let body = format!(
        "<p>Scan this code with an authenticator app, or type the key in it.</p>{}\
         <p>Key: <code id=\"secret\">{}</code></p>\
         <form method=\"post\" action=\"/account/tfa/enable\">{csrf}\
         <label>Code shown by the app <input name=\"code\" autocomplete=\"one-time-code\" required></label>\
         <button>Turn on</button></form>",
        hexyard_totp::qr_svg(&url),
        esc(&hexyard_totp::base32(&secret)),
    );
    Ok(page(StatusCode::OK, "Two-factor authentication", &body))
}

#[derive(Debug, Deserialize)]
pub struct EnableForm {
    csrf: Option<String>,
    code: String,
}

pub async fn enable(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    form: web::Form<EnableForm>,
) -> Result<HttpResponse, PageError> {
    let (session, user) = viewer.posting(&req, form.csrf.as_deref())?;
    let Some(row) = tfa::get(&state.db, user.id).await?.filter(|t| !t.enabled) else {
        return Ok(redirect("/account/tfa"));
    };
    let secret = state.sealer.open(&row.secret_sealed).map_err(ApiError::internal)?;
    let Some(step) = hexyard_totp::verify(&secret, &form.code, now()) else {
        let body = "<p class=\"error\">That code is not right. <a href=\"/account/tfa\">Try again</a>.</p>";
        return Ok(page(StatusCode::UNPROCESSABLE_ENTITY, "Two-factor authentication", body));
    };
    let codes = hexyard_totp::recovery_codes();
    let hashes: Vec<Vec<u8>> = codes.iter().map(|c| sha256(c)).collect();
    let mut tx = state.db.begin().await?;
    tfa::enable(&mut tx, user.id, step as i64, &format!("session:{}", session.id), &hashes).await?;
    let actor = audit::Actor { user_id: Some(user.id), ..actor_of(&req) };
    audit::record(&mut *tx, &actor, "security.tfa.enable", json!({})).await?;
    tx.commit().await?;
    let list: String = codes.iter().map(|c| format!("<li><code>{}</code></li>", esc(c))).collect();
    let body = format!(
        "<p>Two-factor authentication is on. Keep these recovery codes somewhere safe: each signs you in \
         once without your app, and they are shown only now.</p><ul id=\"recovery-codes\">{list}</ul><p><a href=\"/\">Done</a></p>"
    );
    Ok(page(StatusCode::OK, "Two-factor authentication", &body))
}

pub async fn disable(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    form: web::Form<EnableForm>,
) -> Result<HttpResponse, PageError> {
    let (session, user) = viewer.posting(&req, form.csrf.as_deref())?;
    if !check_code(&state, user.id, &form.code, &format!("session:{}", session.id)).await? {
        let body = "<p class=\"error\">That code is not right. <a href=\"/account/tfa\">Try again</a>.</p>";
        return Ok(page(StatusCode::UNPROCESSABLE_ENTITY, "Two-factor authentication", body));
    }
    let mut tx = state.db.begin().await?;
    tfa::disable(&mut tx, user.id).await?;
    let actor = audit::Actor { user_id: Some(user.id), ..actor_of(&req) };
    audit::record(&mut *tx, &actor, "security.tfa.disable", json!({})).await?;
    tx.commit().await?;
    Ok(redirect("/"))
}

//! 2FA in the browser: the second step of signing in (a TOTP code or a recovery code),
//! enrolment with a QR code drawn here and ten recovery codes shown once, and turning it off.

use crate::form::Form;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use hexyard_service::{Services, sessions, tfa};
use serde::Deserialize;

use crate::html::{csrf_field, esc, page};
use crate::session::{PageError, PendingLogin, Viewer, csrf_ok, safe_return_to};
use crate::{origin, redirect};

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
    services: web::Data<Services>,
    req: HttpRequest,
    pending: PendingLogin,
    form: Form<CodeForm>,
) -> Result<HttpResponse, PageError> {
    let Some((session, user)) = pending.0 else { return Ok(redirect("/login")) };
    if !csrf_ok(&session.csrf_token, form.csrf.as_deref()) {
        return Err(PageError::Csrf);
    }
    if !sessions::second_factor(&services, &session, &user, &form.code, &origin(&req)).await? {
        let error = "invalid two-factor authentication code";
        return Ok(second_factor_page(&session.csrf_token, form.return_to.as_deref(), Some(error)));
    }
    Ok(redirect(&safe_return_to(form.return_to.as_deref())))
}

/// `/account/tfa`: the state of 2FA; when off, a fresh secret to enrol with.
pub async fn settings(
    services: web::Data<Services>,
    req: HttpRequest,
    viewer: Viewer,
) -> Result<HttpResponse, PageError> {
    let (session, user) = viewer.signed_in(&req)?;
    let csrf = csrf_field(&session.csrf_token);
    if tfa::enabled(&services, user.id).await? {
        let body = format!(
            "<p>Two-factor authentication is on.</p><form method=\"post\" action=\"/account/tfa/disable\">{csrf}\
             <label>Current code <input name=\"code\" autocomplete=\"one-time-code\" required></label>\
             <button>Turn it off</button></form>"
        );
        return Ok(page(StatusCode::OK, "Two-factor authentication", &body));
    }
    let enrolment = tfa::begin_enrolment(&services, user.id, &user.username).await?;
    let body = format!(
        "<p>Scan this code with an authenticator app, or type the key in it.</p>{}\
         <p>Key: <code id=\"secret\">{}</code></p>\
         <form method=\"post\" action=\"/account/tfa/enable\">{csrf}\
         <label>Code shown by the app <input name=\"code\" autocomplete=\"one-time-code\" required></label>\
         <button>Turn on</button></form>",
        enrolment.qr_svg,
        esc(&enrolment.base32),
    );
    Ok(page(StatusCode::OK, "Two-factor authentication", &body))
}

#[derive(Debug, Deserialize)]
pub struct EnableForm {
    csrf: Option<String>,
    code: String,
}

fn wrong_code() -> HttpResponse {
    let body = "<p class=\"error\">That code is not right. <a href=\"/account/tfa\">Try again</a>.</p>";
    page(StatusCode::UNPROCESSABLE_ENTITY, "Two-factor authentication", body)
}

pub async fn enable(
    services: web::Data<Services>,
    req: HttpRequest,
    viewer: Viewer,
    form: Form<EnableForm>,
) -> Result<HttpResponse, PageError> {
    let (session, user) = viewer.posting(&req, form.csrf.as_deref())?;
    if !tfa::enrolment_pending(&services, user.id).await? {
        return Ok(redirect("/account/tfa"));
    }
    let Some(codes) = tfa::enable(&services, user.id, &session, &form.code, &origin(&req)).await? else {
        return Ok(wrong_code());
    };
    let list: String = codes.iter().map(|c| format!("<li><code>{}</code></li>", esc(c))).collect();
    let body = format!(
        "<p>Two-factor authentication is on. Keep these recovery codes somewhere safe: each signs you in \
         once without your app, and they are shown only now.</p><ul id=\"recovery-codes\">{list}</ul><p><a href=\"/\">Done</a></p>"
    );
    Ok(page(StatusCode::OK, "Two-factor authentication", &body))
}

pub async fn disable(
    services: web::Data<Services>,
    req: HttpRequest,
    viewer: Viewer,
    form: Form<EnableForm>,
) -> Result<HttpResponse, PageError> {
    let (session, user) = viewer.posting(&req, form.csrf.as_deref())?;
    if !tfa::disable(&services, user.id, &session, &form.code, &origin(&req)).await? {
        return Ok(wrong_code());
    }
    Ok(redirect("/"))
}

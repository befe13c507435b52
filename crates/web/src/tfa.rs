//! 2FA in the browser: the second step of signing in (a TOTP code or a recovery code),
//! enrolment with a QR code drawn here and ten recovery codes shown once, and turning it off.

use crate::form::Form;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use hexyard_service::{Services, sessions, tfa};
use serde::Deserialize;

use crate::html::{Frame, message, render};
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

#[derive(Template)]
#[template(path = "tfa_code.html")]
struct CodePage {
    frame: Frame,
    error: Option<String>,
    csrf: String,
    return_to: String,
}

fn second_factor_page(csrf: &str, return_to: Option<&str>, error: Option<&str>) -> HttpResponse {
    let status = if error.is_some() { StatusCode::UNAUTHORIZED } else { StatusCode::OK };
    let page = CodePage {
        frame: Frame::anonymous("Two-factor authentication"),
        error: error.map(str::to_owned),
        csrf: csrf.to_owned(),
        return_to: safe_return_to(return_to),
    };
    render(status, &page)
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

#[derive(Template)]
#[template(path = "tfa.html")]
struct SettingsPage {
    frame: Frame,
    csrf: String,
    enabled: bool,
    qr_svg: String,
    secret: String,
    recovery_codes: Option<Vec<String>>,
}

/// `/account/tfa`: the state of 2FA; when off, a fresh secret to enrol with.
pub async fn settings(
    services: web::Data<Services>,
    req: HttpRequest,
    viewer: Viewer,
) -> Result<HttpResponse, PageError> {
    let frame = Frame::new("Two-factor authentication", &viewer);
    let (session, user) = viewer.signed_in(&req)?;
    let mut page = SettingsPage {
        frame,
        csrf: session.csrf_token,
        enabled: true,
        qr_svg: String::new(),
        secret: String::new(),
        recovery_codes: None,
    };
    if !tfa::enabled(&services, user.id).await? {
        // the QR code is drawn here from the key: numbers and paths only, nothing from a user
        let enrolment = tfa::begin_enrolment(&services, user.id, &user.username).await?;
        page.enabled = false;
        page.qr_svg = enrolment.qr_svg;
        page.secret = enrolment.base32;
    }
    Ok(render(StatusCode::OK, &page))
}

#[derive(Debug, Deserialize)]
pub struct EnableForm {
    csrf: Option<String>,
    code: String,
}

fn wrong_code(frame: Frame) -> HttpResponse {
    let back = Some(("/account/tfa", "Try again"));
    message(StatusCode::UNPROCESSABLE_ENTITY, frame, "That code is not right.", back)
}

pub async fn enable(
    services: web::Data<Services>,
    req: HttpRequest,
    viewer: Viewer,
    form: Form<EnableForm>,
) -> Result<HttpResponse, PageError> {
    let frame = Frame::new("Two-factor authentication", &viewer);
    let (session, user) = viewer.posting(&req, form.csrf.as_deref())?;
    if !tfa::enrolment_pending(&services, user.id).await? {
        return Ok(redirect("/account/tfa"));
    }
    let Some(codes) = tfa::enable(&services, user.id, &session, &form.code, &origin(&req)).await? else {
        return Ok(wrong_code(frame));
    };
    let page = SettingsPage {
        frame,
        csrf: session.csrf_token,
        enabled: true,
        qr_svg: String::new(),
        secret: String::new(),
        recovery_codes: Some(codes),
    };
    Ok(render(StatusCode::OK, &page))
}

pub async fn disable(
    services: web::Data<Services>,
    req: HttpRequest,
    viewer: Viewer,
    form: Form<EnableForm>,
) -> Result<HttpResponse, PageError> {
    let frame = Frame::new("Two-factor authentication", &viewer);
    let (session, user) = viewer.posting(&req, form.csrf.as_deref())?;
    if !tfa::disable(&services, user.id, &session, &form.code, &origin(&req)).await? {
        return Ok(wrong_code(frame));
    }
    Ok(redirect("/dashboard"))
}

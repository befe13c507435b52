//! Signing in and out, signing up, asking for a password reset, and the device verification
//! page of the OAuth device flow.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use hexyard_core::UserRef;
use hexyard_service::oauth::{self, Decision};
use hexyard_service::sessions::{self, SignIn};
use hexyard_service::users::{self, Registration};
use hexyard_service::{Error, Services};
use serde::Deserialize;

use crate::form::Form;
use crate::html::{Frame, message, render};
use crate::session::{CSRF_COOKIE, PageError, SESSION_COOKIE, Viewer, cookie, csrf_ok, safe_return_to};
use crate::{form_urlencoded, origin, redirect};

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    frame: Frame,
    error: Option<String>,
    csrf: String,
    return_to: String,
}

#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    return_to: Option<String>,
}

pub async fn login_form(services: web::Data<Services>, query: web::Query<LoginQuery>) -> HttpResponse {
    login_page(&services, query.return_to.as_deref(), None)
}

/// The sign-in form, protected by a double-submit cookie (there is no session yet).
fn login_page(services: &Services, return_to: Option<&str>, error: Option<&str>) -> HttpResponse {
    let csrf = sessions::new_csrf_token();
    let status = if error.is_some() { StatusCode::UNAUTHORIZED } else { StatusCode::OK };
    let page = LoginPage {
        frame: Frame::anonymous("Sign in"),
        error: error.map(str::to_owned),
        csrf: csrf.clone(),
        return_to: safe_return_to(return_to),
    };
    let mut response = render(status, &page);
    response.add_cookie(&cookie(services, CSRF_COOKIE, csrf)).ok();
    response
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    csrf: Option<String>,
    return_to: Option<String>,
}

pub async fn login(
    services: web::Data<Services>,
    req: HttpRequest,
    form: Form<LoginForm>,
) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    let expected = req.cookie(CSRF_COOKIE).map(|c| c.value().to_owned()).unwrap_or_default();
    if !csrf_ok(&expected, form.csrf.as_deref()) {
        return Ok(login_page(&services, form.return_to.as_deref(), Some("the form expired, please try again")));
    }
    let (token, tfa_pending) = match sessions::sign_in(&services, &form.username, form.password, &origin(&req)).await? {
        SignIn::Started { token, tfa_pending } => (token, tfa_pending),
        SignIn::Throttled => {
            let text = "Too many attempts. Try again later.";
            return Ok(message(StatusCode::TOO_MANY_REQUESTS, Frame::anonymous("Sign in"), text, None));
        }
        SignIn::WrongPassword => {
            let error = Some("invalid username and password combination");
            return Ok(login_page(&services, form.return_to.as_deref(), error));
        }
    };
    let next = safe_return_to(form.return_to.as_deref());
    let next =
        if tfa_pending { format!("/login/tfa?return_to={}", form_urlencoded(&next).collect::<String>()) } else { next };
    let mut response = redirect(&next);
    response.add_cookie(&cookie(&services, SESSION_COOKIE, token)).ok();
    Ok(response)
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    csrf: Option<String>,
}

pub async fn logout(
    services: web::Data<Services>,
    viewer: Viewer,
    form: Form<CsrfForm>,
) -> Result<HttpResponse, PageError> {
    // signing out is a change like any other: a cross-site form cannot do it
    let Some((session, user)) = viewer.0 else { return Ok(redirect("/login")) };
    if !csrf_ok(&session.csrf_token, form.csrf.as_deref()) {
        return Err(PageError::Csrf);
    }
    sessions::revoke(&services, user.id, session.id).await?;
    let mut response = redirect("/login");
    response.add_removal_cookie(&cookie(&services, SESSION_COOKIE, String::new())).ok();
    Ok(response)
}

#[derive(Template)]
#[template(path = "signup.html")]
struct SignupPage {
    frame: Frame,
    errors: Vec<String>,
    csrf: String,
    username: String,
    email: String,
    full_name: String,
}

/// `GET /signup`.
pub async fn signup_form(services: web::Data<Services>, viewer: Viewer) -> HttpResponse {
    if viewer.0.is_some() {
        return redirect("/dashboard");
    }
    signup_page(&services, Vec::new(), &SignupForm::default())
}

fn signup_page(services: &Services, errors: Vec<String>, form: &SignupForm) -> HttpResponse {
    let csrf = sessions::new_csrf_token();
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page = SignupPage {
        frame: Frame::anonymous("Sign up"),
        errors,
        csrf: csrf.clone(),
        username: form.username.clone(),
        email: form.email.clone(),
        full_name: form.full_name.clone(),
    };
    let mut response = render(status, &page);
    response.add_cookie(&cookie(services, CSRF_COOKIE, csrf)).ok();
    response
}

#[derive(Debug, Default, Deserialize)]
pub struct SignupForm {
    csrf: Option<String>,
    #[serde(default)]
    username: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    full_name: String,
    #[serde(default)]
    password: String,
}

/// `POST /signup`: registers the account (unconfirmed) and mails the confirmation link.
pub async fn signup(
    services: web::Data<Services>,
    req: HttpRequest,
    form: Form<SignupForm>,
) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    let expected = req.cookie(CSRF_COOKIE).map(|c| c.value().to_owned()).unwrap_or_default();
    if !csrf_ok(&expected, form.csrf.as_deref()) {
        return Ok(signup_page(&services, vec!["the form expired, please try again".into()], &form));
    }
    let registration = Registration {
        username: Some(form.username.trim().to_owned()),
        email: Some(form.email.trim().to_owned()),
        password: Some(form.password.clone()),
        full_name: Some(form.full_name.trim().to_owned()).filter(|n| !n.is_empty()),
    };
    match users::register(&services, &registration, &origin(&req)).await {
        Ok(user) => Ok(message(
            StatusCode::OK,
            Frame::anonymous("Confirm your email"),
            format!(
                "Welcome, {}! We mailed a link to {}: open it to confirm your address, then sign in.",
                user.username,
                user.email.as_deref().unwrap_or("your address")
            ),
            Some(("/login", "Sign in")),
        )),
        Err(Error::Invalid(errors)) => {
            let errors =
                errors.iter().map(|(field, e)| format!("{field} {}", e.as_str().unwrap_or("is invalid"))).collect();
            Ok(signup_page(&services, errors, &form))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "reset.html")]
struct ResetPage {
    frame: Frame,
    csrf: String,
}

/// `GET /password/reset`.
pub async fn reset_form(services: web::Data<Services>) -> HttpResponse {
    let csrf = sessions::new_csrf_token();
    let mut response =
        render(StatusCode::OK, &ResetPage { frame: Frame::anonymous("Reset your password"), csrf: csrf.clone() });
    response.add_cookie(&cookie(&services, CSRF_COOKIE, csrf)).ok();
    response
}

#[derive(Debug, Deserialize)]
pub struct ResetForm {
    csrf: Option<String>,
    who: String,
}

/// `POST /password/reset`: mails the link when the account exists; the answer is the same
/// either way, so the form does not tell who has an account.
pub async fn reset(
    services: web::Data<Services>,
    req: HttpRequest,
    form: Form<ResetForm>,
) -> Result<HttpResponse, PageError> {
    let expected = req.cookie(CSRF_COOKIE).map(|c| c.value().to_owned()).unwrap_or_default();
    if !csrf_ok(&expected, form.csrf.as_deref()) {
        return Err(PageError::Csrf);
    }
    if let Some(who) = UserRef::parse(form.who.trim()) {
        match users::request_password_reset(&services, &who, &origin(&req)).await {
            Ok(()) | Err(Error::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let text =
        "If an account has that name or address, a link to set a new password is on its way. It works for 24 hours.";
    Ok(message(StatusCode::OK, Frame::anonymous("Check your mail"), text, Some(("/login", "Back to sign in"))))
}

#[derive(Template)]
#[template(path = "device.html")]
struct DevicePage {
    frame: Frame,
    csrf: String,
    /// (client, user code, scopes)
    device: Option<(String, String, Vec<String>)>,
    unknown: bool,
}

#[derive(Debug, Deserialize)]
pub struct DeviceQuery {
    user_code: Option<String>,
}

/// The device verification page: enter or confirm the code, see the scopes, approve or deny.
pub async fn device_form(
    services: web::Data<Services>,
    req: HttpRequest,
    viewer: Viewer,
    query: web::Query<DeviceQuery>,
) -> Result<HttpResponse, PageError> {
    let frame = Frame::new("Authorize a device", &viewer);
    let (session, _) = viewer.signed_in(&req)?;
    let typed = query.user_code.as_deref().unwrap_or_default();
    let found = oauth::pending_device(&services, typed).await?;
    let unknown = found.is_none() && !typed.trim().is_empty();
    let device = found.map(|d| (d.client_name.unwrap_or(d.client_id), d.user_code, d.scopes));
    let status = if unknown { StatusCode::NOT_FOUND } else { StatusCode::OK };
    Ok(render(status, &DevicePage { frame, csrf: session.csrf_token, device, unknown }))
}

#[derive(Debug, Deserialize)]
pub struct DeviceForm {
    csrf: Option<String>,
    user_code: String,
    decision: String,
}

pub async fn device_decide(
    services: web::Data<Services>,
    req: HttpRequest,
    viewer: Viewer,
    form: Form<DeviceForm>,
) -> Result<HttpResponse, PageError> {
    let frame = Frame::new("Authorize a device", &viewer);
    let (_, user) = viewer.posting(&req, form.csrf.as_deref())?;
    let approve = form.decision == "approve";
    let (status, text) = match oauth::decide(&services, user.id, &form.user_code, approve, &origin(&req)).await? {
        Decision::Approved => (StatusCode::OK, "Approved: you can return to your terminal."),
        Decision::Denied => (StatusCode::OK, "Denied: the device gets no access."),
        Decision::Unknown => (StatusCode::NOT_FOUND, "That code is unknown."),
        Decision::Stale => (StatusCode::CONFLICT, "That code was already used or has expired."),
    };
    Ok(message(status, frame, text, None))
}

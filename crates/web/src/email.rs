//! The pages behind the links of mails: confirming an email, setting a new password.

use crate::form::Form;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use hexyard_service::{Services, sessions, users};
use serde::Deserialize;

use crate::html::{Frame, message, render};
use crate::origin;
use crate::session::{CSRF_COOKIE, PageError, cookie, csrf_ok};

#[derive(Debug, Deserialize)]
pub struct KeyQuery {
    username: String,
    key: String,
}

/// `GET /email/verify?username=&key=`.
pub async fn verify_email(
    services: web::Data<Services>,
    req: HttpRequest,
    query: web::Query<KeyQuery>,
) -> Result<HttpResponse, PageError> {
    if users::confirm_email(&services, &query.username, &query.key, &origin(&req)).await? {
        let text = "Your email address is confirmed. You may publish now.";
        return Ok(message(StatusCode::OK, Frame::anonymous("Email confirmed"), text, Some(("/login", "Sign in"))));
    }
    let text = "This link is invalid or has expired.";
    Ok(message(StatusCode::NOT_FOUND, Frame::anonymous("Email not confirmed"), text, None))
}

fn invalid_link() -> HttpResponse {
    let text = "This link is invalid or has expired.";
    message(
        StatusCode::NOT_FOUND,
        Frame::anonymous("Reset your password"),
        text,
        Some(("/password/reset", "Ask for a new link")),
    )
}

#[derive(Template)]
#[template(path = "new_password.html")]
struct NewPasswordPage {
    frame: Frame,
    error: Option<String>,
    csrf: String,
    username: String,
    key: String,
}

/// `GET /password/new?username=&key=`: the form for a new password.
pub async fn new_password_form(
    services: web::Data<Services>,
    query: web::Query<KeyQuery>,
) -> Result<HttpResponse, PageError> {
    if !users::reset_link_live(&services, &query.username, &query.key).await? {
        return Ok(invalid_link());
    }
    Ok(form_page(&services, &query.username, &query.key, None))
}

fn form_page(services: &Services, username: &str, key: &str, error: Option<&str>) -> HttpResponse {
    let csrf = sessions::new_csrf_token();
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let page = NewPasswordPage {
        frame: Frame::anonymous("Reset your password"),
        error: error.map(str::to_owned),
        csrf: csrf.clone(),
        username: username.to_owned(),
        key: key.to_owned(),
    };
    let mut response = render(status, &page);
    response.add_cookie(&cookie(services, CSRF_COOKIE, csrf)).ok();
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
    services: web::Data<Services>,
    req: HttpRequest,
    form: Form<NewPasswordForm>,
) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    let expected = req.cookie(CSRF_COOKIE).map(|c| c.value().to_owned()).unwrap_or_default();
    let problem = if !csrf_ok(&expected, form.csrf.as_deref()) {
        Some("the form expired, please try again")
    } else if form.password.chars().count() < 8 {
        Some("the password needs at least 8 characters")
    } else if form.password != form.confirmation {
        Some("the two passwords differ")
    } else {
        None
    };
    if let Some(problem) = problem {
        return Ok(form_page(&services, &form.username, &form.key, Some(problem)));
    }
    if !users::reset_password(&services, &form.username, &form.key, form.password, &origin(&req)).await? {
        return Ok(invalid_link());
    }
    Ok(message(
        StatusCode::OK,
        Frame::anonymous("Password changed"),
        "Your password is set, and every session and device token was signed out.",
        Some(("/login", "Sign in")),
    ))
}

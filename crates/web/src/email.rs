//! The pages behind the links of mails: confirming an email, setting a new password.

use crate::form::Form;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use hexyard_service::{Services, sessions, users};
use serde::Deserialize;

use crate::html::{csrf_field, esc, page};
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
        let body = "<p>Your email address is confirmed. You may publish now.</p>";
        return Ok(page(StatusCode::OK, "Email confirmed", body));
    }
    let body = "<p class=\"error\">This link is invalid or has expired.</p>";
    Ok(page(StatusCode::NOT_FOUND, "Email not confirmed", body))
}

fn invalid_link() -> HttpResponse {
    page(StatusCode::NOT_FOUND, "Reset your password", "<p class=\"error\">This link is invalid or has expired.</p>")
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
    Ok(page(
        StatusCode::OK,
        "Password changed",
        "<p>Your password is set, and every session and device token was signed out. <a href=\"/login\">Sign in</a>.</p>",
    ))
}

//! Browser sessions: a random token in an HttpOnly, SameSite=Lax cookie (kept in Postgres only
//! as its SHA-256 by the service), with a per-session CSRF token that every form posts back. Before sign-in, the
//! sign-in form is protected by a double-submit cookie.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use futures_util::future::LocalBoxFuture;
use hexyard_service::model::Session;
use hexyard_service::model::User;
use hexyard_service::{Error, Services, sessions};

use crate::html::{Frame, message};

pub const SESSION_COOKIE: &str = "hexyard_session";
pub const CSRF_COOKIE: &str = "hexyard_csrf";

/// The signed-in user of a browser request, if any: only a session past its second factor.
#[derive(Debug, Clone)]
pub struct Viewer(pub Option<(Session, User)>);

/// A session whose password was right and whose second factor is awaited.
#[derive(Debug, Clone)]
pub struct PendingLogin(pub Option<(Session, User)>);

/// The session of the request's cookie whose second factor is (`pending`) or is not awaited.
fn session_with(
    req: &HttpRequest,
    pending: bool,
) -> LocalBoxFuture<'static, Result<Option<(Session, User)>, PageError>> {
    let services = req.app_data::<web::Data<Services>>().cloned();
    let token = req.cookie(SESSION_COOKIE).map(|c| c.value().to_owned());
    Box::pin(async move {
        let services = services.ok_or_else(|| PageError::Service(Error::internal("pages", "no application state")))?;
        let Some(token) = token else { return Ok(None) };
        Ok(sessions::by_token(&services, &token).await?.filter(|(s, _)| s.tfa_pending == pending))
    })
}

impl FromRequest for Viewer {
    type Error = PageError;
    type Future = LocalBoxFuture<'static, Result<Self, PageError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let found = session_with(req, false);
        Box::pin(async move { found.await.map(Viewer) })
    }
}

impl FromRequest for PendingLogin {
    type Error = PageError;
    type Future = LocalBoxFuture<'static, Result<Self, PageError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let found = session_with(req, true);
        Box::pin(async move { found.await.map(PendingLogin) })
    }
}

/// Why a page answers with something else than itself: the one mapping of the use cases'
/// errors to pages.
#[derive(Debug)]
pub enum PageError {
    /// Not signed in: to the sign-in page, then back to this path.
    SignIn(String),
    /// A form posted without the session's CSRF token.
    Csrf,
    Service(Error),
}

impl std::fmt::Display for PageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PageError::SignIn(path) => write!(f, "sign in to see {path}"),
            PageError::Csrf => f.write_str("invalid CSRF token"),
            PageError::Service(e) => e.fmt(f),
        }
    }
}

impl actix_web::ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self {
            PageError::SignIn(_) => StatusCode::SEE_OTHER,
            PageError::Csrf => StatusCode::FORBIDDEN,
            PageError::Service(e) => status_of(e),
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            PageError::SignIn(path) => {
                let encoded: String = crate::form_urlencoded(path).collect();
                crate::redirect(&format!("/login?return_to={encoded}"))
            }
            PageError::Csrf => message(
                StatusCode::FORBIDDEN,
                Frame::anonymous("Forbidden"),
                "The form was not sent from this site's page, or the page is too old. Go back, reload it and try again.",
                None,
            ),
            PageError::Service(e) => {
                if e.is_internal() && !e.is_unavailable() {
                    tracing::error!(error = %e.chain(), "internal error");
                }
                let status = status_of(e);
                let (title, text) = if e.is_unavailable() {
                    ("Unavailable", "The database is unavailable; try again shortly.".to_owned())
                } else if e.is_internal() {
                    (
                        "Something went wrong",
                        "Something went wrong on our side. It is logged; try again in a moment.".to_owned(),
                    )
                } else if status == StatusCode::NOT_FOUND {
                    (
                        "Page not found",
                        "There is no such page. It may be private to an organization you are not a member of."
                            .to_owned(),
                    )
                } else if status == StatusCode::FORBIDDEN {
                    ("Forbidden", format!("You may not do that: {}.", e.describe()))
                } else {
                    ("Error", e.describe())
                };
                let mut response = message(status, Frame::anonymous(title), text, Some(("/", "Go to the home page")));
                if e.is_unavailable() {
                    response.headers_mut().insert(
                        actix_web::http::header::RETRY_AFTER,
                        actix_web::http::header::HeaderValue::from_static("5"),
                    );
                }
                response
            }
        }
    }
}

fn status_of(e: &Error) -> StatusCode {
    if e.is_unavailable() {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    match e {
        Error::NotFound => StatusCode::NOT_FOUND,
        Error::BadRequest(_) => StatusCode::BAD_REQUEST,
        Error::MissingCredentials | Error::Unauthorized(_) | Error::TotpChallenge { .. } => StatusCode::UNAUTHORIZED,
        Error::Forbidden(_) => StatusCode::FORBIDDEN,
        Error::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
        Error::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        Error::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
        Error::Storage(_) | Error::Internal { .. } => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<Error> for PageError {
    fn from(e: Error) -> Self {
        PageError::Service(e)
    }
}

impl Viewer {
    /// The signed-in user, or a trip to the sign-in page.
    pub fn signed_in(self, req: &HttpRequest) -> Result<(Session, User), PageError> {
        self.0.ok_or_else(|| PageError::SignIn(req.uri().path_and_query().map_or("/", |p| p.as_str()).to_owned()))
    }

    /// For a form post: the signed-in user, once the form's CSRF token is the session's.
    pub fn posting(self, req: &HttpRequest, csrf: Option<&str>) -> Result<(Session, User), PageError> {
        let (session, user) = self.signed_in(req)?;
        if csrf_ok(&session.csrf_token, csrf) { Ok((session, user)) } else { Err(PageError::Csrf) }
    }
}

/// A cookie as every cookie of this site is set: HttpOnly, SameSite=Lax, Secure over https.
pub fn cookie(services: &Services, name: &'static str, value: String) -> Cookie<'static> {
    Cookie::build(name, value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(services.settings.public_url.starts_with("https://"))
        .finish()
}

/// Compares a posted CSRF token with the expected one.
pub fn csrf_ok(expected: &str, posted: Option<&str>) -> bool {
    let posted = posted.unwrap_or_default();
    !expected.is_empty()
        && expected.len() == posted.len()
        && expected.bytes().zip(posted.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

/// Only a local path may be returned to after sign-in (no open redirects).
pub fn safe_return_to(path: Option<&str>) -> String {
    match path {
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && !p.contains('\\')
                && hexyard_core::text::forbidden_in_line(p).is_none() =>
        {
            p.to_owned()
        }
        _ => "/".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csrf_and_redirects() {
        assert!(csrf_ok("abc", Some("abc")));
        assert!(!csrf_ok("abc", Some("abd")) && !csrf_ok("abc", None) && !csrf_ok("", Some("")));
        assert_eq!(safe_return_to(Some("/oauth/device?user_code=X")), "/oauth/device?user_code=X");
        for bad in ["//evil.example", "https://evil.example", "/\\evil", "evil", "/a\r\nset-cookie: x=1"] {
            assert_eq!(safe_return_to(Some(bad)), "/");
        }
    }
}

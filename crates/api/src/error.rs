//! The one error type of the HTTP surface, rendered as Hex's `{status, message, errors}`.
//!
//! `error_response` cannot see the request, so it renders JSON and leaves the body in the
//! response's extensions; the [`crate::media::negotiate_errors`] middleware re-renders it as
//! ETF for clients that asked for `application/vnd.hex+erlang`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::{Map, Value, json};

/// An error answered to a client.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    /// Field → message (or nested map), only on validation errors.
    pub errors: Option<Map<String, Value>>,
    /// Extra headers, such as `www-authenticate`.
    pub headers: Vec<(&'static str, String)>,
}

/// The error body, kept on the response for re-rendering.
#[derive(Debug, Clone)]
pub struct ErrorBody(pub Value);

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError { status, message: message.into(), errors: None, headers: Vec::new() }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// hex.pm's 404 message.
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "Page not found")
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, message)
    }

    pub fn too_large() -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "Payload too large")
    }

    /// A 422 with one message per field.
    pub fn validation(errors: Map<String, Value>) -> Self {
        ApiError { errors: Some(errors), ..Self::new(StatusCode::UNPROCESSABLE_ENTITY, "Validation error(s)") }
    }

    /// A 422 on one field.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        let mut errors = Map::new();
        errors.insert(field.to_owned(), Value::String(message.into()));
        Self::validation(errors)
    }

    /// An internal failure: logged with its cause, answered with a generic message.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error")
    }

    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn body(&self) -> Value {
        let mut body = json!({"status": self.status.as_u16(), "message": self.message});
        if let Some(errors) = &self.errors {
            body["errors"] = Value::Object(errors.clone());
        }
        body
    }
}

impl ApiError {
    /// The response in the given format, for paths that run outside the app's middleware.
    pub fn render(&self, format: crate::media::Format) -> HttpResponse {
        let mut response = self.error_response();
        if format == crate::media::Format::Etf {
            let (bytes, content_type) = format.encode(&self.body());
            response.headers_mut().insert(
                actix_web::http::header::CONTENT_TYPE,
                actix_web::http::header::HeaderValue::from_static(content_type),
            );
            response = response.set_body(actix_web::body::BoxBody::new(bytes));
        }
        response
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.message)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let body = self.body();
        let mut response = HttpResponse::build(self.status);
        for (name, value) in &self.headers {
            response.insert_header((*name, value.as_str()));
        }
        let mut response = response.content_type("application/json").body(body.to_string());
        response.extensions_mut().insert(ErrorBody(body));
        response
    }
}

/// The one mapping of the use cases' errors to answers. Internal failures are logged here with
/// their whole chain of causes (inside the request's span, so with its request id) and answered
/// with a generic message.
impl From<hexyard_service::Error> for ApiError {
    fn from(e: hexyard_service::Error) -> Self {
        use hexyard_service::Error as E;
        match e {
            E::NotFound => ApiError::not_found(),
            E::BadRequest(message) => ApiError::bad_request(message),
            E::MissingCredentials => ApiError::unauthorized("missing authentication information")
                .with_header("www-authenticate", "Basic realm=hex"),
            E::Unauthorized(message) => ApiError::unauthorized(message),
            E::TotpChallenge { error, message } => ApiError::unauthorized(message)
                .with_header("www-authenticate", format!("Bearer realm=\"hex\", error=\"{error}\"")),
            E::Forbidden(message) => ApiError::forbidden(message),
            E::Invalid(errors) => ApiError::validation(errors),
            E::TooLarge => ApiError::too_large(),
            E::TooManyRequests(message) => ApiError::new(StatusCode::TOO_MANY_REQUESTS, message),
            e if e.is_unavailable() => {
                tracing::warn!(error = %e.chain(), "the database is unavailable");
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "the database is unavailable; try again shortly")
                    .with_header("retry-after", "5")
            }
            e @ (E::Storage(_) | E::Internal { .. }) => ApiError::internal(e.chain()),
        }
    }
}

//! Media types: answers in JSON or in ETF (`application/vnd.hex+erlang`) as the Accept header
//! asks, request bodies in either, and conditional GETs.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpRequest, HttpResponse, Responder};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{ApiError, ErrorBody};

pub const ETF: &str = "application/vnd.hex+erlang";

/// The body format a client asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Etf,
}

impl Format {
    /// ETF when any Accept value names it (mix and rebar3 always do), JSON otherwise.
    pub fn of(headers: &HeaderMap) -> Format {
        let etf =
            headers.get_all(header::ACCEPT).any(|v| v.to_str().is_ok_and(|s| s.to_ascii_lowercase().contains(ETF)));
        if etf { Format::Etf } else { Format::Json }
    }

    /// The body bytes and Content-Type of a value in this format.
    pub fn encode(self, value: &Value) -> (Vec<u8>, &'static str) {
        match self {
            Format::Json => {
                (serde_json::to_vec(value).expect("a JSON value serializes"), "application/json; charset=utf-8")
            }
            Format::Etf => (hexyard_term::etf::encode(&hexyard_term::json::from_json(value)), ETF),
        }
    }
}

/// A successful answer: a status, a body value and headers, encoded as the client asked, with
/// an ETag and a 304 for a matching If-None-Match on GETs.
#[derive(Debug)]
pub struct Reply {
    status: StatusCode,
    body: Option<Value>,
    headers: Vec<(header::HeaderName, String)>,
}

impl Reply {
    pub fn ok(body: Value) -> Self {
        Reply { status: StatusCode::OK, body: Some(body), headers: Vec::new() }
    }

    pub fn created(body: Value) -> Self {
        Reply { status: StatusCode::CREATED, body: Some(body), headers: Vec::new() }
    }

    pub fn no_content() -> Self {
        Reply { status: StatusCode::NO_CONTENT, body: None, headers: Vec::new() }
    }

    pub fn status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    pub fn header(mut self, name: header::HeaderName, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

impl Responder for Reply {
    type Body = actix_web::body::BoxBody;

    fn respond_to(self, req: &HttpRequest) -> HttpResponse {
        let mut builder = HttpResponse::build(self.status);
        for (name, value) in &self.headers {
            builder.insert_header((name.clone(), value.as_str()));
        }
        let Some(body) = self.body else { return builder.finish() };
        let (bytes, content_type) = Format::of(req.headers()).encode(&body);
        builder.insert_header((header::VARY, "accept"));
        if req.method() == actix_web::http::Method::GET {
            let etag = etag_of(&bytes);
            builder.insert_header((header::ETAG, etag.as_str()));
            builder.insert_header((header::CACHE_CONTROL, "private, max-age=0, must-revalidate"));
            if if_none_match(req.headers(), &etag) {
                return builder.status(StatusCode::NOT_MODIFIED).finish();
            }
        }
        builder.content_type(content_type).body(bytes)
    }
}

pub use hexyard_service::registry::etag_of;

/// Whether If-None-Match names `etag` (or is `*`), ignoring weak markers.
pub fn if_none_match(headers: &HeaderMap, etag: &str) -> bool {
    headers.get_all(header::IF_NONE_MATCH).filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).any(|tag| {
        let tag = tag.trim();
        let tag = tag.strip_prefix("W/").unwrap_or(tag);
        tag == "*" || tag == etag || tag.trim_matches('"') == etag.trim_matches('"')
    })
}

/// Re-renders error bodies as ETF for clients that asked for it, and gives the bare 405 of a
/// known path with another method Hex's error body (keeping its `Allow`).
pub async fn negotiate_errors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let format = Format::of(req.headers());
    let res = next.call(req).await?;
    let mut error_body = res.response().extensions().get::<ErrorBody>().cloned();
    if error_body.is_none() && res.status() == StatusCode::METHOD_NOT_ALLOWED {
        error_body = Some(ErrorBody(ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed").body()));
    }
    match (format, error_body) {
        (_, Some(ErrorBody(body))) if format == Format::Etf || res.status() == StatusCode::METHOD_NOT_ALLOWED => {
            let (bytes, content_type) = format.encode(&body);
            Ok(res.map_body(|head, _| {
                head.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
                EitherBody::right(actix_web::body::BoxBody::new(bytes))
            }))
        }
        _ => Ok(res.map_into_left_body()),
    }
}

/// The largest request body read as JSON or ETF.
const MAX_BODY: usize = 1024 * 1024;

/// A request body in JSON, ETF or a form, chosen by Content-Type; an empty body reads as `{}`.
#[derive(Debug)]
pub struct Body<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for Body<T> {
    type Error = ApiError;
    type Future = futures_util::future::LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let etf = req
            .headers()
            .get_all(header::CONTENT_TYPE)
            .any(|v| v.to_str().is_ok_and(|s| s.to_ascii_lowercase().contains(ETF)));
        let form = req
            .headers()
            .get_all(header::CONTENT_TYPE)
            .any(|v| v.to_str().is_ok_and(|s| s.to_ascii_lowercase().starts_with("application/x-www-form-urlencoded")));
        let mut payload = payload.take();
        Box::pin(async move {
            let mut bytes = Vec::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|_| ApiError::bad_request("Bad request"))?;
                if bytes.len() + chunk.len() > MAX_BODY {
                    return Err(ApiError::too_large());
                }
                bytes.extend_from_slice(&chunk);
            }
            let value: Value = if bytes.is_empty() {
                Value::Object(Default::default())
            } else if form {
                let pairs: Vec<(String, String)> =
                    serde_urlencoded::from_bytes(&bytes).map_err(|_| ApiError::bad_request("invalid form body"))?;
                Value::Object(pairs.into_iter().map(|(k, v)| (k, Value::String(v))).collect())
            } else if etf || bytes.first() == Some(&131) {
                let term =
                    hexyard_term::etf::decode(&bytes).map_err(|_| ApiError::bad_request("bad binary_to_term"))?;
                hexyard_term::json::to_json(&term).map_err(|_| ApiError::bad_request("bad binary_to_term"))?
            } else {
                serde_json::from_slice(&bytes).map_err(|_| ApiError::bad_request("invalid JSON body"))?
            };
            if let Some((field, message)) = hexyard_core::text::find_in_json(&value) {
                return Err(ApiError::field(&field, message));
            }
            serde_json::from_value(value).map(Body).map_err(|e| ApiError::bad_request(format!("invalid body: {e}")))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn accept_negotiation() {
        let req =
            TestRequest::default().insert_header((header::ACCEPT, "application/vnd.hex+erlang")).to_http_request();
        assert_eq!(Format::of(req.headers()), Format::Etf);
        let req = TestRequest::default()
            .append_header((header::ACCEPT, "application/json"))
            .append_header((header::ACCEPT, "text/html, application/vnd.hex+erlang;q=0.9"))
            .to_http_request();
        assert_eq!(Format::of(req.headers()), Format::Etf);
        let req = TestRequest::default().insert_header((header::ACCEPT, "application/json")).to_http_request();
        assert_eq!(Format::of(req.headers()), Format::Json);
        assert_eq!(Format::of(TestRequest::default().to_http_request().headers()), Format::Json);
    }

    #[test]
    fn conditional_requests() {
        let etag = etag_of(b"body");
        let req = TestRequest::default().insert_header((header::IF_NONE_MATCH, format!("W/{etag}"))).to_http_request();
        assert!(if_none_match(req.headers(), &etag));
        let req = TestRequest::default().insert_header((header::IF_NONE_MATCH, "\"other\", *")).to_http_request();
        assert!(if_none_match(req.headers(), &etag));
        let req = TestRequest::default().insert_header((header::IF_NONE_MATCH, "\"other\"")).to_http_request();
        assert!(!if_none_match(req.headers(), &etag));
    }
}

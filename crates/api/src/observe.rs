//! One log line per request — method, path (never the query, which may carry keys), status,
//! duration and a request id, never a header — and the request id on every line logged while
//! the request is handled (so an internal error's whole chain can be found by it). A panic in
//! a handler is caught here and answered with a 500: never a dropped connection.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use futures_util::FutureExt;
use tracing::Instrument;

use crate::error::ApiError;

/// The header that carries the request id back to the client, to quote in a report.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The request's id, for handlers that put it in their answer.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// A request id: unique within this process's life, and unlikely to repeat across restarts
/// (its high bits come from the start time).
fn next_id() -> String {
    static START: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let start = *START.get_or_init(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs()) & 0xffff_ffff
    });
    format!("{start:08x}{:08x}", COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// Requests being handled now, across workers: what a graceful shutdown waits for.
static IN_FLIGHT: AtomicU64 = AtomicU64::new(0);

/// How many requests are being handled.
pub fn in_flight() -> u64 {
    IN_FLIGHT.load(Ordering::Acquire)
}

/// Counts a request while it is handled, however its handling ends.
struct InFlight;

impl InFlight {
    fn enter() -> InFlight {
        IN_FLIGHT.fetch_add(1, Ordering::AcqRel);
        InFlight
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        IN_FLIGHT.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The middleware: the outermost layer of the app. (It cannot hold on to the request: the
/// layers inside need to be its only owner.)
pub async fn log_requests(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let _in_flight = InFlight::enter();
    let id = next_id();
    actix_web::HttpMessage::extensions_mut(&req).insert(RequestId(id.clone()));
    let span = tracing::info_span!("request", id = %id);
    let (method, path) = (req.method().to_string(), req.path().to_owned());
    let started = Instant::now();
    let outcome = AssertUnwindSafe(next.call(req)).catch_unwind().instrument(span.clone()).await;
    let outcome = match outcome {
        Ok(Ok(res)) => Ok(res.map_into_boxed_body()),
        Ok(Err(e)) => Err(e),
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            // the HTTP layer renders the error as the answer: the connection stays usable
            Err(span.in_scope(|| ApiError::internal(format!("a handler panicked: {message}"))).into())
        }
    };
    let (status, request) = match &outcome {
        Ok(res) => (res.status().as_u16(), Some(res.request())),
        Err(e) => (e.as_response_error().status_code().as_u16(), None),
    };
    let elapsed = started.elapsed().as_secs_f64();
    crate::meters::record(&method, &path, status, elapsed, || request.and_then(crate::meters::route_of));
    let duration_ms = elapsed * 1000.0;
    span.in_scope(|| tracing::info!(target: "hexyard::access", method, path, status, duration_ms, "request"));
    let mut response = outcome?;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    Ok(response)
}

/// `HEAD` is `GET` without a body: the route of `GET` answers it, and the HTTP layer, which
/// knows the request was a `HEAD`, sends the headers (with the length) and no body.
pub async fn head_as_get(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if req.method() == actix_web::http::Method::HEAD {
        req.head_mut().method = actix_web::http::Method::GET;
    }
    next.call(req).await
}

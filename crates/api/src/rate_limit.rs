//! Rate limits on `/api`: a fixed window per minute, 100 requests per IP without credentials
//! and 500 per user with them (both configurable), counted in Postgres so several servers share
//! the counts. Every answer carries `X-RateLimit-Limit`, `-Remaining` and `-Reset` (unix
//! seconds of the window's end); past the limit the answer is hex.pm's 429.
//!
//! The caller is authenticated here once and kept in the request, so handlers do not look the
//! key up a second time.

use std::time::{SystemTime, UNIX_EPOCH};

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, web};

use crate::error::ApiError;
use crate::principal::{Authenticated, actor_of, authenticate};
use crate::state::AppState;

/// Requests allowed per window; 0 means unlimited.
#[derive(Debug, Clone, Copy)]
pub struct RateLimits {
    pub anonymous: u32,
    pub authenticated: u32,
    pub window_seconds: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits { anonymous: 100, authenticated: 500, window_seconds: 60 }
    }
}

/// The middleware.
pub async fn limit(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let state =
        req.app_data::<web::Data<AppState>>().cloned().ok_or_else(|| ApiError::internal("no application state"))?;
    let limits = state.config.rate_limits;
    // the socket's address: forwarding headers can be forged by anyone
    let ip = req.peer_addr().map_or_else(|| "unknown".to_owned(), |a| a.ip().to_string());
    let principal = authenticate(&state, req.headers().get(header::AUTHORIZATION), actor_of(req.request())).await;
    let (bucket, who, allowed) = match &principal {
        Ok(Some(p)) => {
            let (bucket, who) = p.describe();
            (bucket, who, limits.authenticated)
        }
        _ => (format!("ip:{ip}"), format!("IP {ip}"), limits.anonymous),
    };
    if let Ok(p) = principal {
        req.extensions_mut().insert(Authenticated(p));
    }
    if allowed == 0 {
        return Ok(next.call(req).await?.map_into_boxed_body());
    }
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) as i64;
    let window = i64::from(limits.window_seconds);
    let window_start = now - now.rem_euclid(window);
    let count = hexyard_storage::rate_limits::hit(&state.db, &bucket, window_start).await.map_err(ApiError::from)?;
    let headers = [
        ("x-ratelimit-limit", allowed.to_string()),
        ("x-ratelimit-remaining", (i64::from(allowed) - count).max(0).to_string()),
        ("x-ratelimit-reset", (window_start + window).to_string()),
    ];
    let mut res = if count > i64::from(allowed) {
        let error = ApiError::new(StatusCode::TOO_MANY_REQUESTS, format!("API rate limit exceeded for {who}"));
        req.error_response(error).map_into_boxed_body()
    } else {
        next.call(req).await?.map_into_boxed_body()
    };
    for (name, value) in headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            res.headers_mut().insert(HeaderName::from_static(name), value);
        }
    }
    Ok(res)
}

fn window_start(window_seconds: i64) -> i64 {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) as i64;
    now - now.rem_euclid(window_seconds)
}

/// Counts an attempt in a throttle of its own (sign-in) and tells whether it is still within
/// `allowed` per `window_seconds`.
pub async fn attempt(state: &AppState, bucket: &str, allowed: i64, window_seconds: i64) -> Result<bool, ApiError> {
    let count = hexyard_storage::rate_limits::hit(&state.db, bucket, window_start(window_seconds)).await?;
    Ok(count <= allowed)
}

/// Whether a throttle's window already holds `allowed` events, without counting one.
pub async fn exhausted(state: &AppState, bucket: &str, allowed: i64, window_seconds: i64) -> Result<bool, ApiError> {
    Ok(hexyard_storage::rate_limits::count(&state.db, bucket, window_start(window_seconds)).await? >= allowed)
}

//! Rate limits on `/api`: a fixed window per minute, 100 requests per address without
//! credentials and 500 per user (or per organization for its keys) with them, both
//! configurable, counted in Postgres so several servers share the counts
//! (`hexyard_service::throttle`). Every answer carries `X-RateLimit-Limit`, `-Remaining` and
//! `-Reset` (unix seconds of the window's end); past the limit the answer is hex.pm's 429.
//!
//! The caller is authenticated here once and kept in the request, so handlers do not look the
//! key up a second time. The address is the connection's own, as everywhere: forwarding
//! headers are not trusted.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, web};
use hexyard_service::{Services, throttle};

use crate::error::ApiError;
use crate::principal::{Authenticated, authenticate, origin_of};

/// The middleware.
pub async fn limit(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let services =
        req.app_data::<web::Data<Services>>().cloned().ok_or_else(|| ApiError::internal("no application state"))?;
    let limits = services.settings.rate_limits;
    let origin = origin_of(req.peer_addr(), req.headers());
    let principal = match authenticate(&services, req.headers(), &origin).await {
        // the database is down: say so now, rather than wait for it a second time below
        Err(e) if e.status == StatusCode::SERVICE_UNAVAILABLE => return Err(e.into()),
        other => other,
    };
    let (bucket, who, allowed) = match &principal {
        Ok(Some(p)) => {
            let (bucket, who) = p.describe();
            (bucket, who, limits.authenticated)
        }
        _ => {
            let ip = origin.ip.as_deref().unwrap_or("unknown");
            (format!("ip:{ip}"), format!("IP {ip}"), limits.anonymous)
        }
    };
    if let Ok(p) = principal {
        req.extensions_mut().insert(Authenticated(p));
    }
    if allowed == 0 {
        return Ok(next.call(req).await?.map_into_boxed_body());
    }
    let counted = throttle::hit(&services, &bucket).await.map_err(ApiError::from)?;
    let headers = [
        ("x-ratelimit-limit", allowed.to_string()),
        ("x-ratelimit-remaining", (i64::from(allowed) - counted.count).max(0).to_string()),
        ("x-ratelimit-reset", counted.reset.to_string()),
    ];
    let mut res = if counted.count > i64::from(allowed) {
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

//! The routes: the Hex API under `/api` (every package route also under
//! `/api/repos/REPO/…`), the repository under `/repo`, and `/health`. Each path is one
//! resource holding its methods, so a known path with another method answers 405 with
//! `Allow`; `HEAD` is answered as `GET` without a body (see [`crate::head_as_get`]).

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::{Next, from_fn};
use actix_web::web::{self, delete, get, post, put, resource};
use hexyard_service::Services;

use crate::error::ApiError;

mod audit;
mod auth;
mod keys;
mod mirror;
mod oauth;
mod orgs;
mod owners;
mod packages;
mod releases;
mod repo;
mod repos;
mod users;
mod v1;

/// Registers every route of the API and the repository.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/health").route(get().to(health)))
        .service(resource("/metrics").route(get().to(metrics)))
        .service(web::scope("/mirror").configure(mirror::configure))
        .service(web::scope("/repo").configure(repo::configure))
        .service(
            web::scope("/api").wrap(from_fn(crate::rate_limit::limit)).wrap(from_fn(require_user_agent)).configure(api),
        )
        .service(web::scope("/v1").wrap(from_fn(crate::rate_limit::limit)).configure(v1::configure));
}

/// The route pattern of a path in a scope that one handler dispatches by itself (`/repo`,
/// `/mirror`): the meters' `route` label, which no resource pattern gives there. `None` for
/// every other path.
pub fn dispatched_pattern(path: &str) -> Option<&'static str> {
    let under = |scope: &str| path.strip_prefix(scope).filter(|rest| rest.is_empty() || rest.starts_with('/'));
    match (under("/repo"), under("/mirror")) {
        (Some(rest), _) => Some(repo::pattern(rest)),
        (_, Some(rest)) => Some(mirror::pattern(rest)),
        _ => None,
    }
}

fn api(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/openapi.json").route(get().to(openapi)))
        .service(resource("/users").route(post().to(users::create_user)))
        .service(resource("/users/me").route(get().to(users::get_me)))
        .service(resource("/users/me/audit-logs").route(get().to(audit::get_my_audit_logs)))
        .service(resource("/users/{name}").route(get().to(users::get_user)))
        .service(resource("/users/{name}/reset").route(post().to(users::reset_password)))
        .service(
            resource("/keys")
                .route(get().to(keys::list_keys))
                .route(post().to(keys::create_key))
                .route(delete().to(keys::delete_keys)),
        )
        .service(resource("/keys/{name}").route(get().to(keys::get_key)).route(delete().to(keys::delete_key)))
        .service(resource("/auth").route(get().to(auth::get_auth)))
        .service(resource("/oauth/device_authorization").route(post().to(oauth::device_authorization)))
        .service(resource("/oauth/token").route(post().to(oauth::token)))
        .service(resource("/oauth/revoke").route(post().to(oauth::revoke)))
        // Gleam sends GET
        .service(
            resource("/oauth/revoke_by_hash")
                .route(post().to(oauth::revoke_by_hash))
                .route(get().to(oauth::revoke_by_hash)),
        )
        .service(resource("/orgs").route(get().to(orgs::list_orgs)))
        .service(resource("/orgs/{name}").route(get().to(orgs::get_org)).route(post().to(orgs::update_org)))
        .service(resource("/orgs/{name}/audit-logs").route(get().to(orgs::org_audit_logs)))
        .service(
            resource("/orgs/{name}/keys").route(get().to(orgs::list_org_keys)).route(post().to(orgs::create_org_key)),
        )
        .service(resource("/orgs/{name}/keys/{key}").route(delete().to(orgs::delete_org_key)))
        .service(
            resource("/orgs/{name}/members").route(get().to(orgs::list_members)).route(post().to(orgs::add_member)),
        )
        .service(
            resource("/orgs/{name}/members/{username}")
                .route(get().to(orgs::get_member))
                .route(post().to(orgs::set_member))
                .route(delete().to(orgs::remove_member)),
        )
        .service(resource("/repos").route(get().to(repos::list_repos)))
        .service(resource("/repos/{name}").route(get().to(repos::get_repo)))
        .service(web::scope("/repos/{repository}").configure(package_routes));
    package_routes(cfg);
}

/// The routes that exist both unprefixed and under `/repos/{repository}`.
fn package_routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/publish").route(post().to(releases::publish_release)))
        .service(resource("/packages").route(get().to(packages::list_packages)))
        .service(resource("/packages/{name}").route(get().to(packages::get_package)))
        .service(resource("/packages/{name}/audit-logs").route(get().to(audit::get_package_audit_logs)))
        .service(resource("/packages/{name}/owners").route(get().to(owners::list_owners)))
        .service(
            resource("/packages/{name}/owners/{username}")
                .route(get().to(owners::get_owner))
                .route(put().to(owners::set_owner))
                .route(delete().to(owners::remove_owner)),
        )
        .service(resource("/packages/{name}/releases").route(post().to(releases::publish_release)))
        .service(
            resource("/packages/{name}/releases/{version}")
                .route(get().to(releases::get_release))
                .route(delete().to(releases::revert_release)),
        )
        .service(
            resource("/packages/{name}/releases/{version}/docs")
                .route(get().to(releases::get_docs))
                .route(post().to(releases::publish_docs))
                .route(delete().to(releases::delete_docs)),
        )
        .service(
            resource("/packages/{name}/releases/{version}/retire")
                .route(post().to(releases::retire_release))
                .route(delete().to(releases::unretire_release)),
        );
}

/// `GET /health`: 200 when this server can answer everything, which needs its database; 503
/// (within 2 s) when the database does not answer, so a load balancer sends traffic elsewhere.
async fn health(services: web::Data<Services>) -> actix_web::HttpResponse {
    let reachable = services.database_reachable(std::time::Duration::from_secs(2)).await;
    let (status, body) = if reachable {
        (actix_web::http::StatusCode::OK, "ok\n")
    } else {
        (actix_web::http::StatusCode::SERVICE_UNAVAILABLE, "the database is unreachable\n")
    };
    actix_web::HttpResponse::build(status).content_type("text/plain; charset=utf-8").body(body)
}

/// `GET /metrics`: the Prometheus text format, when the server exports metrics (with the
/// bearer token, when one is set).
async fn metrics(req: actix_web::HttpRequest) -> actix_web::HttpResponse {
    let text = |status: actix_web::http::StatusCode, body: &'static str| {
        actix_web::HttpResponse::build(status).content_type("text/plain; charset=utf-8").body(body)
    };
    let Some(metrics) = req.app_data::<web::Data<Option<crate::Metrics>>>().and_then(|m| m.as_ref().as_ref()) else {
        return text(actix_web::http::StatusCode::NOT_FOUND, "metrics are off (HEXYARD_METRICS)\n");
    };
    if let Some(token) = &metrics.token {
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        if !same(given.trim().as_bytes(), token.as_bytes()) {
            let mut res = text(actix_web::http::StatusCode::UNAUTHORIZED, "/metrics needs its bearer token\n");
            res.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
            return res;
        }
    }
    actix_web::HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body((metrics.render)())
}

/// Compares a token in time that does not depend on where the first difference is.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `GET /api/openapi.json`: this server's OpenAPI document.
async fn openapi() -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok().content_type("application/json").body(crate::openapi::text())
}

/// hex.pm refuses API requests without a User-Agent.
async fn require_user_agent(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if req.headers().get(header::USER_AGENT).is_none_or(|v| v.is_empty()) {
        return Err(ApiError::bad_request("User-Agent header is required").into());
    }
    next.call(req).await
}

/// The 404 of every path no route takes.
/// A path nothing serves: a browser asking for a page gets the pages' 404, everyone else (and
/// every machine path) Hex's.
pub async fn not_found(req: actix_web::HttpRequest) -> Result<actix_web::HttpResponse, ApiError> {
    let machine = ["/api", "/repo", "/v1", "/mirror", "/metrics", "/health"]
        .iter()
        .any(|p| req.path() == *p || req.path().starts_with(&format!("{p}/")));
    let wants_html = req
        .headers()
        .get(actix_web::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    match req.app_data::<web::Data<crate::Pages>>() {
        Some(pages) if wants_html && !machine => Ok((pages.not_found)(&req)),
        _ => Err(ApiError::not_found()),
    }
}

/// A page number from a query (1 when absent).
fn page(raw: Option<&str>) -> Result<u32, ApiError> {
    Ok(hexyard_service::packages::page(raw)?)
}

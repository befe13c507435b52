//! The routes: the Hex API under `/api` (every package route also under
//! `/api/repos/REPO/…`), the repository under `/repo`, and `/health`.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::{Next, from_fn};
use actix_web::{HttpRequest, web};

use crate::error::ApiError;
use crate::registry::RepositoryRegistry;
use crate::state::AppState;

mod audit;
mod auth;
mod keys;
mod oauth;
mod orgs;
mod packages;
mod releases;
mod repo;
mod repos;
mod users;

/// Registers every route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/health", web::get().to(health))
        .configure(crate::pages::configure)
        .service(web::scope("/repo").configure(repo::configure))
        .service(
            web::scope("/api").wrap(from_fn(crate::rate_limit::limit)).wrap(from_fn(require_user_agent)).configure(api),
        );
}

fn api(cfg: &mut web::ServiceConfig) {
    cfg.route("/users", web::post().to(users::create_user))
        .route("/users/me", web::get().to(users::get_me))
        .route("/users/me/audit-logs", web::get().to(audit::get_my_audit_logs))
        .route("/users/{name}", web::get().to(users::get_user))
        .route("/users/{name}/reset", web::post().to(users::reset_password))
        .route("/keys", web::get().to(keys::list_keys))
        .route("/keys", web::post().to(keys::create_key))
        .route("/keys", web::delete().to(keys::delete_keys))
        .route("/keys/{name}", web::get().to(keys::get_key))
        .route("/keys/{name}", web::delete().to(keys::delete_key))
        .route("/auth", web::get().to(auth::get_auth))
        .route("/oauth/device_authorization", web::post().to(oauth::device_authorization))
        .route("/oauth/token", web::post().to(oauth::token))
        .route("/oauth/revoke", web::post().to(oauth::revoke))
        .route("/oauth/revoke_by_hash", web::post().to(oauth::revoke_by_hash))
        .route("/oauth/revoke_by_hash", web::get().to(oauth::revoke_by_hash))
        .route("/orgs", web::get().to(orgs::list_orgs))
        .route("/orgs/{name}", web::get().to(orgs::get_org))
        .route("/orgs/{name}", web::post().to(orgs::update_org))
        .route("/orgs/{name}/audit-logs", web::get().to(orgs::org_audit_logs))
        .route("/orgs/{name}/keys", web::get().to(orgs::list_org_keys))
        .route("/orgs/{name}/keys", web::post().to(orgs::create_org_key))
        .route("/orgs/{name}/keys/{key}", web::delete().to(orgs::delete_org_key))
        .route("/orgs/{name}/members", web::get().to(orgs::list_members))
        .route("/orgs/{name}/members", web::post().to(orgs::set_member))
        .route("/orgs/{name}/members/{username}", web::get().to(orgs::get_member))
        .route("/orgs/{name}/members/{username}", web::post().to(orgs::set_member))
        .route("/orgs/{name}/members/{username}", web::delete().to(orgs::remove_member))
        .route("/repos", web::get().to(repos::list_repos))
        .route("/repos/{name}", web::get().to(repos::get_repo))
        .service(web::scope("/repos/{repository}").configure(package_routes));
    package_routes(cfg);
}

/// The routes that exist both unprefixed and under `/repos/{repository}`.
fn package_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/publish", web::post().to(releases::publish_release))
        .route("/packages", web::get().to(packages::list_packages))
        .route("/packages/{name}", web::get().to(packages::get_package))
        .route("/packages/{name}/audit-logs", web::get().to(audit::get_package_audit_logs))
        .route("/packages/{name}/releases", web::post().to(releases::publish_release))
        .route("/packages/{name}/releases/{version}", web::get().to(releases::get_release));
}

async fn health() -> &'static str {
    "ok"
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

/// The repository of a request (the public one, or the one in `/repos/{repository}`), if the
/// caller may read it: a private repository exists only for its members whose credentials
/// reach it (a key with `repository:NAME`, `repositories` or API access). Anyone else gets the
/// 404 of a repository that does not exist.
pub(crate) async fn repository(
    state: &AppState,
    req: &HttpRequest,
    principal: Option<&crate::principal::Principal>,
) -> Result<std::sync::Arc<RepositoryRegistry>, ApiError> {
    let repo = state.repository(req.match_info().get("repository")).await?.ok_or_else(ApiError::not_found)?;
    if repo.public || can_read_private(state, &repo, principal).await? { Ok(repo) } else { Err(ApiError::not_found()) }
}

/// Whether the caller may read a private repository: a member whose grants reach it.
pub(crate) async fn can_read_private(
    state: &AppState,
    repo: &RepositoryRegistry,
    principal: Option<&crate::principal::Principal>,
) -> Result<bool, ApiError> {
    use hexyard_auth::Grants;
    let Some(p) = principal else { return Ok(false) };
    if !(p.permissions.allows_repository(&repo.name) || p.permissions.allows_api_read()) {
        return Ok(false);
    }
    let Some(org) = hexyard_storage::orgs::get(&state.db, &repo.name).await? else { return Ok(false) };
    match (&p.user, &p.organization) {
        (Some(user), _) => Ok(hexyard_storage::orgs::role(&state.db, org.id, user.id).await?.is_some()),
        // an organization's key reaches its own repository only
        (None, Some(own)) => Ok(own.id == org.id),
        (None, None) => Ok(false),
    }
}

/// The 404 of every path no route takes.
pub async fn not_found() -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::not_found())
}

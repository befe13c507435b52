//! The repository (`/repo`): signed registry resources from memory, tarballs from the blob
//! store, the public key. Bodies are the gzip bytes themselves, sent without a
//! Content-Encoding header: every client gunzips them itself, and mix would do it twice.

use std::str::FromStr;
use std::sync::Arc;
use std::time::SystemTime;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HttpDate};
use actix_web::web::{get, resource};
use actix_web::{HttpRequest, HttpResponse, web};
use hexyard_service::registry::tarball_bytes;
use hexyard_service::{RepositoryRegistry, Services, authz};

use crate::error::ApiError;
use crate::media::if_none_match;
use crate::principal::{authenticate, origin};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::scope("/repos/{org}").configure(routes)).configure(routes);
}

fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/names").route(get().to(get_names)))
        .service(resource("/versions").route(get().to(get_versions)))
        .service(resource("/packages/{name}").route(get().to(get_package)))
        .service(resource("/tarballs/{file}").route(get().to(get_tarball)))
        .service(resource("/docs/{file}").route(get().to(get_docs)))
        .service(resource("/public_key").route(get().to(get_public_key)));
}

/// The repository of a request: the public one, or an organization's under `/repos/{org}`,
/// which answers only members whose credentials reach it. Everyone else gets a 404 — never a
/// 401, which would start mix's interactive sign-in.
async fn repo_of(services: &Services, req: &HttpRequest) -> Result<Arc<RepositoryRegistry>, HttpResponse> {
    let Some(org) = req.match_info().get("org") else { return Ok(services.public().clone()) };
    if hexyard_core::RepositoryName::parse(org).is_err() {
        return Err(repo_not_found());
    }
    let repo = match services.repository(Some(org)).await {
        Ok(Some(repo)) if !repo.public => repo,
        Ok(_) => return Err(repo_not_found()),
        Err(e) => return Err(actix_web::ResponseError::error_response(&ApiError::from(e))),
    };
    // bad credentials are the same as none here
    let principal = authenticate(services, req.headers(), &origin(req)).await.ok().flatten();
    match authz::may_read(services, &repo, principal.as_ref()).await {
        Ok(true) => Ok(repo),
        Ok(false) => Err(repo_not_found()),
        Err(e) => Err(actix_web::ResponseError::error_response(&ApiError::from(e))),
    }
}

async fn get_names(services: web::Data<Services>, req: HttpRequest) -> HttpResponse {
    match repo_of(&services, &req).await {
        Ok(repo) => resource_response(&repo, "names", &req),
        Err(response) => response,
    }
}

async fn get_versions(services: web::Data<Services>, req: HttpRequest) -> HttpResponse {
    match repo_of(&services, &req).await {
        Ok(repo) => resource_response(&repo, "versions", &req),
        Err(response) => response,
    }
}

async fn get_package(services: web::Data<Services>, req: HttpRequest) -> HttpResponse {
    let name = req.match_info().get("name").unwrap_or_default().to_owned();
    match repo_of(&services, &req).await {
        Ok(repo) => resource_response(&repo, &format!("packages/{name}"), &req),
        Err(response) => response,
    }
}

fn not_modified(req: &HttpRequest, etag: &str, last_modified: SystemTime) -> bool {
    if req.headers().contains_key(header::IF_NONE_MATCH) {
        return if_none_match(req.headers(), etag);
    }
    let since = req.headers().get(header::IF_MODIFIED_SINCE).and_then(|v| HttpDate::from_str(v.to_str().ok()?).ok());
    // HTTP dates have whole seconds
    since.is_some_and(|since| {
        let since = SystemTime::from(since);
        last_modified.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
            <= since.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
    })
}

fn resource_response(repo: &RepositoryRegistry, path: &str, req: &HttpRequest) -> HttpResponse {
    let Some(resource) = repo.resource(path) else { return repo_not_found() };
    let mut builder = HttpResponse::Ok();
    builder
        .insert_header((header::ETAG, resource.etag.as_str()))
        .insert_header((header::LAST_MODIFIED, HttpDate::from(resource.last_modified)))
        .insert_header((header::CACHE_CONTROL, cache_control(repo, 60)));
    if not_modified(req, &resource.etag, resource.last_modified) {
        return builder.status(StatusCode::NOT_MODIFIED).finish();
    }
    builder.content_type("application/octet-stream").body(resource.body.clone())
}

fn cache_control(repo: &RepositoryRegistry, max_age: u32) -> String {
    format!("{}, max-age={max_age}", if repo.public { "public" } else { "private" })
}

/// A 404 that is not an HTML page: clients would try to gunzip whatever a 200 carries.
fn repo_not_found() -> HttpResponse {
    HttpResponse::NotFound().content_type("text/plain; charset=utf-8").body("not found")
}

async fn get_tarball(services: web::Data<Services>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let repo = match repo_of(&services, &req).await {
        Ok(repo) => repo,
        Err(response) => return Ok(response),
    };
    let file = req.match_info().get("file").unwrap_or_default();
    let Some(stem) = file.strip_suffix(".tar") else { return Ok(repo_not_found()) };
    let Some(tarball) = repo.tarball(stem) else { return Ok(repo_not_found()) };
    let mut builder = HttpResponse::Ok();
    builder
        .insert_header((header::ETAG, tarball.etag.as_str()))
        .insert_header((header::CACHE_CONTROL, cache_control(&repo, 3600)));
    if if_none_match(req.headers(), &tarball.etag) {
        // hex.pm counts a revalidated download too
        services.downloads.record(repo.id, stem);
        return Ok(builder.status(StatusCode::NOT_MODIFIED).finish());
    }
    match tarball_bytes(&services, &tarball).await? {
        Some(bytes) => {
            services.downloads.record(repo.id, stem);
            Ok(builder.content_type("application/octet-stream").body(bytes))
        }
        None => Ok(repo_not_found()),
    }
}

async fn get_public_key(services: web::Data<Services>, req: HttpRequest) -> HttpResponse {
    match repo_of(&services, &req).await {
        Ok(repo) => HttpResponse::Ok().content_type("application/x-pem-file").body(repo.public_key_pem()),
        Err(response) => response,
    }
}

/// `/repo/docs/NAME-VERSION.tar.gz`: a release's docs tarball as uploaded.
async fn get_docs(services: web::Data<Services>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let repo = match repo_of(&services, &req).await {
        Ok(repo) => repo,
        Err(response) => return Ok(response),
    };
    let file = req.match_info().get("file").unwrap_or_default();
    let parsed = file.strip_suffix(".tar.gz").and_then(hexyard_core::parse_release);
    let Some((name, version)) = parsed else { return Ok(repo_not_found()) };
    let Some(bytes) = hexyard_service::docs::tarball(&services, &repo, &name, &version).await? else {
        return Ok(repo_not_found());
    };
    let etag = crate::media::etag_of(&bytes);
    let mut builder = HttpResponse::Ok();
    builder
        .insert_header((header::ETAG, etag.as_str()))
        .insert_header((header::CACHE_CONTROL, cache_control(&repo, 60)));
    if if_none_match(req.headers(), &etag) {
        return Ok(builder.status(StatusCode::NOT_MODIFIED).finish());
    }
    Ok(builder.content_type("application/octet-stream").body(bytes))
}

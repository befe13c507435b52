//! The repository (`/repo`): signed registry resources from memory, tarballs from the blob
//! store, the public key. Bodies are the gzip bytes themselves, sent without a
//! Content-Encoding header: every client gunzips them itself, and mix would do it twice.

use std::str::FromStr;
use std::sync::Arc;
use std::time::SystemTime;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HttpDate};
use actix_web::{HttpRequest, HttpResponse, web};
use hexyard_service::registry::tarball_bytes;
use hexyard_service::{RepositoryRegistry, Services, authz};

use crate::error::ApiError;
use crate::media::if_none_match;
use crate::principal::{authenticate, origin};

/// One handler for the whole scope, dispatching on the path itself (as `/mirror` does): the
/// hot path, a tarball or a registry resource, runs no route pattern's regex.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.default_service(web::to(dispatch));
}

/// What a path under `/repo` (or `/repo/repos/ORG`) names.
#[derive(Debug, PartialEq, Eq)]
enum Target<'a> {
    Names,
    Versions,
    PublicKey,
    Package(&'a str),
    Tarball(&'a str),
    Docs(&'a str),
}

impl Target<'_> {
    /// The route's pattern, the label `/metrics` counts it under.
    fn pattern(&self, org: bool) -> &'static str {
        match (self, org) {
            (Target::Names, false) => "/repo/names",
            (Target::Names, true) => "/repo/repos/{org}/names",
            (Target::Versions, false) => "/repo/versions",
            (Target::Versions, true) => "/repo/repos/{org}/versions",
            (Target::PublicKey, false) => "/repo/public_key",
            (Target::PublicKey, true) => "/repo/repos/{org}/public_key",
            (Target::Package(_), false) => "/repo/packages/{name}",
            (Target::Package(_), true) => "/repo/repos/{org}/packages/{name}",
            (Target::Tarball(_), false) => "/repo/tarballs/{file}",
            (Target::Tarball(_), true) => "/repo/repos/{org}/tarballs/{file}",
            (Target::Docs(_), false) => "/repo/docs/{file}",
            (Target::Docs(_), true) => "/repo/repos/{org}/docs/{file}",
        }
    }
}

/// The organization (if any) and the target of a path after `/repo`; `None` for a path that
/// names nothing.
fn parse(rest: &str) -> Option<(Option<&str>, Target<'_>)> {
    fn segment(s: &str) -> Option<&str> {
        Some(s).filter(|s| !s.is_empty() && !s.contains('/'))
    }
    let rest = rest.strip_prefix('/')?;
    let (org, rest) = match rest.strip_prefix("repos/") {
        Some(under) => {
            let (org, rest) = under.split_once('/')?;
            (Some(segment(org)?), rest)
        }
        None => (None, rest),
    };
    let target = match rest.split_once('/') {
        None if rest == "names" => Target::Names,
        None if rest == "versions" => Target::Versions,
        None if rest == "public_key" => Target::PublicKey,
        Some(("packages", name)) => Target::Package(segment(name)?),
        Some(("tarballs", file)) => Target::Tarball(segment(file)?),
        Some(("docs", file)) => Target::Docs(segment(file)?),
        _ => return None,
    };
    Some((org, target))
}

/// The route pattern of a path after `/repo`, for the meters.
pub fn pattern(rest: &str) -> &'static str {
    parse(rest).map_or(crate::meters::UNMATCHED, |(org, target)| target.pattern(org.is_some()))
}

async fn dispatch(services: web::Data<Services>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    // the path as the routes saw it: percent-escapes decoded, but for `%`, `/` and `+`
    let path = req.match_info().as_str().strip_prefix("/repo").unwrap_or_default();
    let Some((org, target)) = parse(path) else { return Err(ApiError::not_found()) };
    if req.method() != actix_web::http::Method::GET {
        // HEAD arrives here as GET (see `head_as_get`)
        return Ok(HttpResponse::MethodNotAllowed().insert_header((header::ALLOW, "GET, HEAD")).finish());
    }
    let repo = match repo_of(&services, org, &req).await {
        Ok(repo) => repo,
        Err(response) => return Ok(response),
    };
    match target {
        Target::Names => Ok(resource_response(&repo, "names", &req)),
        Target::Versions => Ok(resource_response(&repo, "versions", &req)),
        Target::Package(name) => Ok(resource_response(&repo, &format!("packages/{name}"), &req)),
        Target::PublicKey => Ok(HttpResponse::Ok().content_type("application/x-pem-file").body(repo.public_key_pem())),
        Target::Tarball(file) => get_tarball(&services, &repo, file, &req).await,
        Target::Docs(file) => get_docs(&services, &repo, file, &req).await,
    }
}

/// The repository of a request: the public one, or an organization's under `/repos/{org}`,
/// which answers only members whose credentials reach it. Everyone else gets a 404 — never a
/// 401, which would start mix's interactive sign-in.
async fn repo_of(
    services: &Services,
    org: Option<&str>,
    req: &HttpRequest,
) -> Result<Arc<RepositoryRegistry>, HttpResponse> {
    let Some(org) = org else { return Ok(services.public().clone()) };
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

async fn get_tarball(
    services: &Services,
    repo: &RepositoryRegistry,
    file: &str,
    req: &HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let Some(stem) = file.strip_suffix(".tar") else { return Ok(repo_not_found()) };
    let Some(tarball) = repo.tarball(stem) else { return Ok(repo_not_found()) };
    let mut builder = HttpResponse::Ok();
    builder
        .insert_header((header::ETAG, tarball.etag.as_str()))
        .insert_header((header::CACHE_CONTROL, cache_control(repo, 3600)));
    if if_none_match(req.headers(), &tarball.etag) {
        // hex.pm counts a revalidated download too
        services.downloads.record(repo.id, stem);
        return Ok(builder.status(StatusCode::NOT_MODIFIED).finish());
    }
    match tarball_bytes(services, &tarball).await? {
        Some(bytes) => {
            services.downloads.record(repo.id, stem);
            Ok(builder.content_type("application/octet-stream").body(bytes))
        }
        None => Ok(repo_not_found()),
    }
}

/// `/repo/docs/NAME-VERSION.tar.gz`: a release's docs tarball as uploaded.
async fn get_docs(
    services: &Services,
    repo: &RepositoryRegistry,
    file: &str,
    req: &HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let parsed = file.strip_suffix(".tar.gz").and_then(hexyard_core::parse_release);
    let Some((name, version)) = parsed else { return Ok(repo_not_found()) };
    let Some(bytes) = hexyard_service::docs::tarball(services, repo, &name, &version).await? else {
        return Ok(repo_not_found());
    };
    let etag = crate::media::etag_of(&bytes);
    let mut builder = HttpResponse::Ok();
    builder
        .insert_header((header::ETAG, etag.as_str()))
        .insert_header((header::CACHE_CONTROL, cache_control(repo, 60)));
    if if_none_match(req.headers(), &etag) {
        return Ok(builder.status(StatusCode::NOT_MODIFIED).finish());
    }
    Ok(builder.content_type("application/octet-stream").body(bytes))
}

#[cfg(test)]
mod tests {
    use super::{Target, parse};

    #[test]
    fn paths_under_repo_name_their_targets_and_nothing_else() {
        assert_eq!(parse("/names"), Some((None, Target::Names)));
        assert_eq!(parse("/versions"), Some((None, Target::Versions)));
        assert_eq!(parse("/public_key"), Some((None, Target::PublicKey)));
        assert_eq!(parse("/packages/foo"), Some((None, Target::Package("foo"))));
        assert_eq!(parse("/tarballs/foo-1.0.0.tar"), Some((None, Target::Tarball("foo-1.0.0.tar"))));
        assert_eq!(parse("/docs/foo-1.0.0.tar.gz"), Some((None, Target::Docs("foo-1.0.0.tar.gz"))));
        assert_eq!(parse("/repos/acme/names"), Some((Some("acme"), Target::Names)));
        assert_eq!(parse("/repos/acme/tarballs/x-1.0.0.tar"), Some((Some("acme"), Target::Tarball("x-1.0.0.tar"))));
        for nothing in [
            "",
            "/",
            "/names/",
            "/packages",
            "/packages/",
            "/packages/foo/",
            "/packages/foo/bar",
            "/tarballs/",
            "/repos/acme",
            "/repos/acme/",
            "/repos//names",
            "/repos/acme/repos/beta/names",
            "/other",
            "names",
        ] {
            assert_eq!(parse(nothing), None, "{nothing:?}");
        }
    }
}

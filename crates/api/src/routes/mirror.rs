//! `/mirror`: the caching mirror of the upstream repository (hex.pm), its bodies byte for byte
//! as the upstream signed them. Errors are plain text, as on `/repo`: a client would try to
//! gunzip whatever a 200 carries, and reads the status of anything else.

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use hexyard_service::mirror::{Mirror, MirrorError, Served};
use hexyard_service::{Services, authz};

use crate::media::if_none_match;
use crate::principal::{authenticate, origin};

/// One handler for the whole scope, dispatching on the path itself: no route patterns to match
/// on the hot path (a cached tarball is answered with no regex run).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.default_service(web::to(dispatch));
}

/// What a path after `/mirror` names.
enum Target<'a> {
    Tarball(&'a str),
    /// a resource, by its path in the upstream repository
    Resource(&'a str),
    PublicKey,
}

/// The route pattern and the target of a path after `/mirror`; `None` for one that names nothing.
fn parse(rest: &str) -> Option<(&'static str, Target<'_>)> {
    let path = rest.strip_prefix('/')?;
    let file = |f: &str| !f.is_empty() && !f.contains('/');
    Some(match path.split_once('/') {
        Some(("tarballs", name)) if !name.contains('/') => ("/mirror/tarballs/{file}", Target::Tarball(name)),
        Some(("packages", name)) if file(name) => ("/mirror/packages/{name}", Target::Resource(path)),
        Some(("docs", name)) if file(name) => ("/mirror/docs/{file}", Target::Resource(path)),
        Some(("installs", name)) if file(name) => ("/mirror/installs/{file}", Target::Resource(path)),
        None if path == "names" => ("/mirror/names", Target::Resource(path)),
        None if path == "versions" => ("/mirror/versions", Target::Resource(path)),
        None if path == "public_key" => ("/mirror/public_key", Target::PublicKey),
        _ => return None,
    })
}

/// The route pattern of a path after `/mirror`, for the meters.
pub fn pattern(rest: &str) -> &'static str {
    parse(rest).map_or(crate::meters::UNMATCHED, |(pattern, _)| pattern)
}

async fn dispatch(services: web::Data<Services>, req: HttpRequest) -> HttpResponse {
    if req.method() != actix_web::http::Method::GET {
        // HEAD arrives here as GET (see `head_as_get`)
        return HttpResponse::MethodNotAllowed().insert_header((header::ALLOW, "GET, HEAD")).finish();
    }
    match parse(req.path().strip_prefix("/mirror").unwrap_or_default()) {
        Some((_, Target::Tarball(file))) => get_tarball(services, &req, file).await,
        Some((_, Target::Resource(path))) => get_resource(services, &req, path).await,
        Some((_, Target::PublicKey)) => get_public_key(services, &req).await,
        None => text(StatusCode::NOT_FOUND, "not found"),
    }
}

/// The mirror, when it is on and the caller may read it.
async fn mirror_for(services: &Services, req: &HttpRequest) -> Result<Arc<Mirror>, HttpResponse> {
    let Some(mirror) = services.mirror.clone() else {
        return Err(text(StatusCode::NOT_FOUND, "the mirror is off on this server (HEXYARD_MIRROR=off)"));
    };
    if mirror.settings.auth_required {
        let principal = authenticate(services, req.headers(), &origin(req)).await.ok().flatten();
        if !authz::may_read_mirror(&mirror.settings, principal.as_ref()) {
            let repository = &mirror.settings.repository;
            return Err(text(
                StatusCode::FORBIDDEN,
                &format!("the mirror needs a key with the repositories or repository:{repository} permission"),
            ));
        }
    }
    Ok(mirror)
}

/// `names`, `versions`, `packages/NAME`, `docs/NAME-VER.tar.gz`, `installs/…`: the path
/// under `/mirror` is the path upstream.
async fn get_resource(services: web::Data<Services>, req: &HttpRequest, path: &str) -> HttpResponse {
    let mirror = match mirror_for(&services, req).await {
        Ok(mirror) => mirror,
        Err(response) => return response,
    };
    match mirror.resource(path).await {
        Ok(served) => {
            let text = path.ends_with(".csv") || path.ends_with(".signed");
            let content_type = if text { "text/plain; charset=utf-8" } else { "application/octet-stream" };
            body(req, &mirror, served, content_type, 60)
        }
        Err(e) => failure(path, &e),
    }
}

async fn get_tarball(services: web::Data<Services>, req: &HttpRequest, file: &str) -> HttpResponse {
    let mirror = match mirror_for(&services, req).await {
        Ok(mirror) => mirror,
        Err(response) => return response,
    };
    let Some(stem) = file.strip_suffix(".tar") else { return text(StatusCode::NOT_FOUND, "not found") };
    match mirror.tarball(stem).await {
        // a cached tarball never changes
        Ok(served) => body(req, &mirror, served, "application/octet-stream", 3600),
        Err(e) => failure(file, &e),
    }
}

async fn get_public_key(services: web::Data<Services>, req: &HttpRequest) -> HttpResponse {
    match mirror_for(&services, req).await {
        Ok(mirror) => {
            HttpResponse::Ok().content_type("application/x-pem-file").body(mirror.public_key_pem().to_owned())
        }
        Err(response) => response,
    }
}

fn body(req: &HttpRequest, mirror: &Mirror, served: Served, content_type: &'static str, max_age: u32) -> HttpResponse {
    let cache_control = match (mirror.settings.auth_required, max_age) {
        (false, 3600) => "public, max-age=3600",
        (false, _) => "public, max-age=60",
        (true, 3600) => "private, max-age=3600",
        (true, _) => "private, max-age=60",
    };
    let mut builder = HttpResponse::Ok();
    // validators made once per cached body, sent without copying
    if let Ok(etag) = HeaderValue::from_maybe_shared(served.etag.clone()) {
        builder.insert_header((header::ETAG, etag));
    }
    if let Ok(date) = HeaderValue::from_maybe_shared(served.last_modified) {
        builder.insert_header((header::LAST_MODIFIED, date));
    }
    builder.insert_header((header::CACHE_CONTROL, cache_control));
    if served.stale {
        builder.insert_header(("x-hexyard-mirror", "stale"));
    }
    if if_none_match(req.headers(), std::str::from_utf8(&served.etag).unwrap_or_default()) {
        return builder.status(StatusCode::NOT_MODIFIED).finish();
    }
    builder.content_type(content_type).body(served.body)
}

fn failure(path: &str, e: &MirrorError) -> HttpResponse {
    match e {
        MirrorError::NotFound => text(StatusCode::NOT_FOUND, "not found"),
        MirrorError::NotCached(_) => text(StatusCode::NOT_FOUND, &e.to_string()),
        MirrorError::Upstream(_) => text(StatusCode::BAD_GATEWAY, &e.to_string()),
        MirrorError::Timeout(_) => text(StatusCode::GATEWAY_TIMEOUT, &e.to_string()),
        MirrorError::Internal(cause) => {
            tracing::error!(path, error = cause, "mirror: serving failed");
            text(StatusCode::INTERNAL_SERVER_ERROR, "internal server error")
        }
    }
}

fn text(status: StatusCode, message: &str) -> HttpResponse {
    HttpResponse::build(status).content_type("text/plain; charset=utf-8").body(format!("{message}\n"))
}

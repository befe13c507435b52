//! The docs site: `/docs/NAME/[VERSION/]PATH` for the public repository's packages and
//! `/repos/ORG/docs/NAME/[VERSION/]PATH` for an organization's, served from the docs tarballs.
//!
//! Docs are HTML and scripts written by whoever published the package, served on the
//! registry's own origin. Every answer carries a CSP `sandbox` policy without
//! `allow-same-origin`: the browser runs the page in an opaque origin, so its scripts cannot
//! read the registry's cookies or storage, and their requests to the registry are cross-origin
//! ones, without the session cookie and unreadable without CORS, which the registry never grants.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use hexyard_core::PackageName;
use hexyard_service::authz::Reader;
use hexyard_service::docs::{self, Page};
use hexyard_service::{Error, Services, principal};

use crate::session::{PageError, Viewer};

/// The policy of every docs answer: scripts, forms and popups run, in an opaque origin.
pub const SANDBOX: &str =
    "sandbox allow-scripts allow-forms allow-popups allow-popups-to-escape-sandbox allow-downloads";

/// `/docs/NAME` and `/repos/ORG/docs/NAME`: the package's root is a directory.
pub async fn root(req: HttpRequest) -> HttpResponse {
    HttpResponse::MovedPermanently().insert_header((header::LOCATION, format!("{}/", req.path()))).finish()
}

/// `/docs/NAME/REST`.
pub async fn public(
    req: HttpRequest,
    services: web::Data<Services>,
    viewer: Viewer,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, PageError> {
    let (name, rest) = path.into_inner();
    serve(&req, &services, viewer, None, &name, &rest).await
}

/// `/repos/ORG/docs/NAME/REST`.
pub async fn private(
    req: HttpRequest,
    services: web::Data<Services>,
    viewer: Viewer,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, PageError> {
    let (org, name, rest) = path.into_inner();
    serve(&req, &services, viewer, Some(&org), &name, &rest).await
}

async fn serve(
    req: &HttpRequest,
    services: &Services,
    viewer: Viewer,
    repository: Option<&str>,
    name: &str,
    rest: &str,
) -> Result<HttpResponse, PageError> {
    let name = PackageName::parse_existing(name).map_err(|_| Error::NotFound)?;
    let authorization = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let caller = match authorization {
        Some(_) => principal::authenticate(services, authorization, &crate::origin(req)).await?,
        None => None,
    };
    let reader = match (&caller, &viewer.0) {
        (Some(p), _) => Reader::Caller(p),
        (None, Some((_, user))) => Reader::Session(user),
        (None, None) => Reader::Anonymous,
    };
    let answer = match docs::page(services, reader, repository, &name, rest).await? {
        Page::Redirect(to) => HttpResponse::MovedPermanently().insert_header((header::LOCATION, to)).finish(),
        Page::File { body, content_type, etag, public } => {
            let fresh = req.headers().get(header::IF_NONE_MATCH).is_some_and(|v| v.as_bytes() == etag.as_bytes());
            let mut answer = if fresh { HttpResponse::NotModified() } else { HttpResponse::Ok() };
            answer
                .insert_header((header::ETAG, etag))
                .insert_header((
                    header::CACHE_CONTROL,
                    if public { "public, max-age=3600" } else { "private, max-age=3600" },
                ))
                .insert_header((header::VARY, "authorization, cookie"));
            if fresh { answer.finish() } else { answer.insert_header((header::CONTENT_TYPE, content_type)).body(body) }
        }
    };
    Ok(sandboxed(answer))
}

/// Adds the sandbox and `nosniff` to an answer of the docs site.
fn sandboxed(mut answer: HttpResponse) -> HttpResponse {
    let headers = answer.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(SANDBOX));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    answer
}

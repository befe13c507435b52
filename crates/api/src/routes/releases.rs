//! Releases: publishing (`/publish`, `/packages/{name}/releases`) and reading one.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, web};
use futures_util::StreamExt;
use hexyard_service::authz::Acting;
use hexyard_service::publish::{self, PublishRequest};
use hexyard_service::{Services, docs, lifecycle, packages};
use serde::Deserialize;

use crate::error::ApiError;
use crate::extract::{ReleasePath, RepositoryPath};
use crate::media::{Body, Reply};
use crate::principal::MaybePrincipal;
use crate::views::{self, Urls};

/// How much of an oversize upload is read (and dropped) before the connection is closed.
const DRAIN_LIMIT: u64 = 64 * 1024 * 1024;

#[derive(Debug, Deserialize)]
pub struct PublishQuery {
    replace: Option<String>,
}

/// `POST /api/publish` (Gleam) and `POST /api/packages/{name}/releases` (mix, rebar3): the
/// body is the tarball whatever the Content-Type or Content-Encoding say. `replace` defaults to
/// true, as on hex.pm; modern clients send `replace=false` unless told `--replace`.
#[tracing::instrument(skip_all)]
pub async fn publish_release(
    services: web::Data<Services>,
    req: HttpRequest,
    principal: MaybePrincipal,
    repository: RepositoryPath,
    query: web::Query<PublishQuery>,
    payload: web::Payload,
) -> Result<Reply, ApiError> {
    // refuse before reading a byte of the body
    let principal = principal.required()?;
    let repo = publish::target(&services, repository.name(), &principal).await?;
    let body = read_upload(&req, payload, services.settings.limits.max_tarball_size).await?;
    let replace = query.replace.as_deref() != Some("false");
    let url_name = req.match_info().get("name");
    let published =
        publish::publish(&services, PublishRequest { repo: &repo, url_name, replace, body, principal: &principal })
            .await?;

    let urls = Urls { services: &services, repo: &repo };
    let body = views::release(&urls, &published.package.name, &published.release, &published.requirements, 0);
    let location = urls.release(&published.package.name, &published.release.version);
    let status = if published.replaced { StatusCode::OK } else { StatusCode::CREATED };
    Ok(Reply::ok(body).status(status).header(header::LOCATION, location))
}

/// Reads an upload of at most `max` bytes. An oversize body is read and dropped, so the client
/// that sent it all gets the 413 rather than a reset connection; past [`DRAIN_LIMIT`] the
/// connection is closed instead.
pub(crate) async fn read_upload(
    req: &HttpRequest,
    mut payload: web::Payload,
    max: u64,
) -> Result<bytes::Bytes, ApiError> {
    let declared = req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    let mut too_large = declared.is_some_and(|n| n > max);
    let mut seen = 0u64;
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| ApiError::bad_request("Bad request"))?;
        seen += chunk.len() as u64;
        if seen > DRAIN_LIMIT {
            break;
        }
        too_large |= seen > max;
        if !too_large {
            body.extend_from_slice(&chunk);
        }
    }
    if too_large { Err(ApiError::too_large()) } else { Ok(body.freeze()) }
}

/// `GET /api/packages/{name}/releases/{version}`.
#[tracing::instrument(skip_all, fields(package.name = %path.name, version = %path.version))]
pub async fn get_release(
    services: web::Data<Services>,
    principal: MaybePrincipal,
    repository: RepositoryPath,
    path: ReleasePath,
) -> Result<Reply, ApiError> {
    let found = packages::release(&services, repository.name(), principal.as_ref(), &path.name, &path.version).await?;
    let urls = Urls { services: &services, repo: &found.repo };
    Ok(Reply::ok(views::release(&urls, &found.package.name, &found.release, &found.requirements, found.downloads)))
}

/// `DELETE /api/packages/{name}/releases/{version}`: reverts a release (204).
#[tracing::instrument(skip_all, fields(package.name = %path.name, version = %path.version))]
pub async fn revert_release(
    services: web::Data<Services>,
    principal: MaybePrincipal,
    repository: RepositoryPath,
    path: ReleasePath,
) -> Result<Reply, ApiError> {
    let principal = principal.required()?;
    lifecycle::revert(&services, repository.name(), Acting::Caller(&principal), &path.name, &path.version).await?;
    Ok(Reply::no_content())
}

#[derive(Debug, Deserialize)]
pub struct RetireBody {
    reason: Option<String>,
    message: Option<String>,
}

/// `POST /api/packages/{name}/releases/{version}/retire` with `{reason, message}` (204).
#[tracing::instrument(skip_all, fields(package.name = %path.name, version = %path.version))]
pub async fn retire_release(
    services: web::Data<Services>,
    principal: MaybePrincipal,
    repository: RepositoryPath,
    path: ReleasePath,
    Body(body): Body<RetireBody>,
) -> Result<Reply, ApiError> {
    let principal = principal.required()?;
    let retirement = Some((body.reason.as_deref(), body.message.as_deref()));
    lifecycle::set_retirement(
        &services,
        repository.name(),
        Acting::Caller(&principal),
        &path.name,
        &path.version,
        retirement,
    )
    .await?;
    Ok(Reply::no_content())
}

/// `DELETE /api/packages/{name}/releases/{version}/retire` (204).
#[tracing::instrument(skip_all, fields(package.name = %path.name, version = %path.version))]
pub async fn unretire_release(
    services: web::Data<Services>,
    principal: MaybePrincipal,
    repository: RepositoryPath,
    path: ReleasePath,
) -> Result<Reply, ApiError> {
    let principal = principal.required()?;
    lifecycle::set_retirement(
        &services,
        repository.name(),
        Acting::Caller(&principal),
        &path.name,
        &path.version,
        None,
    )
    .await?;
    Ok(Reply::no_content())
}

/// The URL of a release's docs tarball.
fn docs_url(services: &Services, repository: &RepositoryPath, path: &ReleasePath) -> String {
    let repo = match repository.name() {
        Some(name) if name != "hexpm" && name != services.public().name => format!("/repo/repos/{name}"),
        _ => "/repo".to_owned(),
    };
    format!("{}{repo}/docs/{}-{}.tar.gz", services.settings.public_url, path.name, path.version)
}

/// `POST /api/packages/{name}/releases/{version}/docs`: the gzipped docs tarball (201).
#[tracing::instrument(skip_all, fields(package.name = %path.name, version = %path.version))]
pub async fn publish_docs(
    services: web::Data<Services>,
    req: HttpRequest,
    principal: MaybePrincipal,
    repository: RepositoryPath,
    path: ReleasePath,
    payload: web::Payload,
) -> Result<Reply, ApiError> {
    let principal = principal.required()?;
    let body = read_upload(&req, payload, services.settings.limits.max_tarball_size).await?;
    docs::upload(&services, repository.name(), &principal, &path.name, &path.version, body).await?;
    Ok(Reply::no_content()
        .status(StatusCode::CREATED)
        .header(header::LOCATION, docs_url(&services, &repository, &path)))
}

/// `DELETE /api/packages/{name}/releases/{version}/docs` (204).
#[tracing::instrument(skip_all, fields(package.name = %path.name, version = %path.version))]
pub async fn delete_docs(
    services: web::Data<Services>,
    principal: MaybePrincipal,
    repository: RepositoryPath,
    path: ReleasePath,
) -> Result<Reply, ApiError> {
    let principal = principal.required()?;
    docs::remove(&services, repository.name(), &principal, &path.name, &path.version).await?;
    Ok(Reply::no_content())
}

/// `GET /api/packages/{name}/releases/{version}/docs`: a redirect to the docs tarball.
#[tracing::instrument(skip_all, fields(package.name = %path.name, version = %path.version))]
pub async fn get_docs(
    services: web::Data<Services>,
    principal: MaybePrincipal,
    repository: RepositoryPath,
    path: ReleasePath,
) -> Result<Reply, ApiError> {
    let found = packages::release(&services, repository.name(), principal.as_ref(), &path.name, &path.version).await?;
    if !found.release.has_docs {
        return Err(ApiError::not_found());
    }
    Ok(Reply::no_content().status(StatusCode::FOUND).header(header::LOCATION, docs_url(&services, &repository, &path)))
}

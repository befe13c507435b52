//! Releases: publishing (`/publish`, `/packages/{name}/releases`) and reading one.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, web};
use futures_util::StreamExt;
use hexyard_storage::{packages, releases};
use serde::Deserialize;

use crate::error::ApiError;
use crate::extract::ReleasePath;
use crate::media::Reply;
use crate::principal::MaybePrincipal;
use crate::publish::{PublishRequest, publish};
use crate::routes::repository;
use crate::state::AppState;
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
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: MaybePrincipal,
    query: web::Query<PublishQuery>,
    mut payload: web::Payload,
) -> Result<Reply, ApiError> {
    // refuse before reading a byte of the body
    let principal = principal.required()?;
    let repo = repository(&state, &req, Some(&principal)).await?;
    crate::otp::require_write_otp(&state, &principal, req.headers()).await?;
    let max = state.config.limits.max_tarball_size;
    let declared = req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    let mut too_large = declared.is_some_and(|n| n > max);
    let mut seen = 0u64;
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| ApiError::bad_request("Bad request"))?;
        seen += chunk.len() as u64;
        // an oversize body is read and dropped, so the client that sent it all gets the 413
        // rather than a reset connection; past DRAIN_LIMIT the connection is closed instead
        if seen > DRAIN_LIMIT {
            break;
        }
        too_large |= seen > max;
        if !too_large {
            body.extend_from_slice(&chunk);
        }
    }
    if too_large {
        return Err(ApiError::too_large());
    }
    let replace = query.replace.as_deref() != Some("false");
    let url_name = req.match_info().get("name");
    let published =
        publish(&state, PublishRequest { repo: &repo, url_name, replace, body: body.freeze(), principal: &principal })
            .await?;

    let package = packages::get(&state.db, repo.id, &published.package).await?.ok_or_else(ApiError::not_found)?;
    let release = releases::get(&state.db, package.id, &published.version).await?.ok_or_else(ApiError::not_found)?;
    let requirements = releases::requirements_of_package(&state.db, package.id).await?;
    let urls = Urls { state: &state, repo: &repo };
    let body = views::release(&urls, &package.name, &release, &requirements);
    let location = urls.release(&package.name, &release.version);
    let status = if published.replaced { StatusCode::OK } else { StatusCode::CREATED };
    Ok(Reply::ok(body).status(status).header(header::LOCATION, location))
}

/// `GET /api/packages/{name}/releases/{version}`.
#[tracing::instrument(skip_all, fields(package.name = %path.name, version = %path.version))]
pub async fn get_release(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: MaybePrincipal,
    path: ReleasePath,
) -> Result<Reply, ApiError> {
    let repo = repository(&state, &req, principal.0.as_ref()).await?;
    let package = packages::get(&state.db, repo.id, path.name.as_str()).await?.ok_or_else(ApiError::not_found)?;
    let version = path.version.to_string();
    let release = releases::get(&state.db, package.id, &version).await?.ok_or_else(ApiError::not_found)?;
    let requirements = releases::requirements_of_package(&state.db, package.id).await?;
    Ok(Reply::ok(views::release(&Urls { state: &state, repo: &repo }, &package.name, &release, &requirements)))
}

//! Releases: publishing (`/publish`, `/packages/{name}/releases`) and reading one.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, web};
use futures_util::StreamExt;
use hexyard_core::Version;
use hexyard_storage::{packages, releases};
use serde::Deserialize;

use crate::error::ApiError;
use crate::media::Reply;
use crate::principal::MaybePrincipal;
use crate::publish::{PublishRequest, publish};
use crate::routes::repository;
use crate::state::AppState;
use crate::views::{self, Urls};

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
    let repo = repository(&state, &req)?;
    let max = state.config.limits.max_tarball_size;
    let declared = req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max) {
        return Err(ApiError::too_large());
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| ApiError::bad_request("Bad request"))?;
        if (body.len() + chunk.len()) as u64 > max {
            return Err(ApiError::too_large());
        }
        body.extend_from_slice(&chunk);
    }
    let replace = query.replace.as_deref() != Some("false");
    let url_name = req.match_info().get("name");
    let published =
        publish(&state, PublishRequest { repo, url_name, replace, body: body.freeze(), principal: &principal }).await?;

    let package = packages::get(&state.db, repo.id, &published.package).await?.ok_or_else(ApiError::not_found)?;
    let release = releases::get(&state.db, package.id, &published.version).await?.ok_or_else(ApiError::not_found)?;
    let requirements = releases::requirements_of_package(&state.db, package.id).await?;
    let urls = Urls { state: &state, repo };
    let body = views::release(&urls, &package.name, &release, &requirements);
    let location = urls.release(&package.name, &release.version);
    let status = if published.replaced { StatusCode::OK } else { StatusCode::CREATED };
    Ok(Reply::ok(body).status(status).header(header::LOCATION, location))
}

/// `GET /api/packages/{name}/releases/{version}`.
#[tracing::instrument(skip_all)]
pub async fn get_release(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<Reply, ApiError> {
    let repo = repository(&state, &req)?;
    let (name, version) = path.into_inner();
    if Version::parse(&version).is_err() {
        return Err(ApiError::bad_request(format!("invalid version: {version}")));
    }
    let package = packages::get(&state.db, repo.id, &name).await?.ok_or_else(ApiError::not_found)?;
    let release = releases::get(&state.db, package.id, &version).await?.ok_or_else(ApiError::not_found)?;
    let requirements = releases::requirements_of_package(&state.db, package.id).await?;
    Ok(Reply::ok(views::release(&Urls { state: &state, repo }, &name, &release, &requirements)))
}

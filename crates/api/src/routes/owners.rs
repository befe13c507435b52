//! `/api/packages/{name}/owners`: who owns a public package, at which level.

use actix_web::web;
use hexyard_service::authz::Acting;
use hexyard_service::{Services, owners};
use serde::Deserialize;
use serde_json::Value;

use crate::error::ApiError;
use crate::extract::{OwnerPath, PackagePath, RepositoryPath};
use crate::media::{Body, Reply};
use crate::principal::MaybePrincipal;
use crate::views::{self, Urls};

/// `GET /api/packages/{name}/owners`.
#[tracing::instrument(skip_all, fields(package.name = %path.name))]
pub async fn list_owners(
    services: web::Data<Services>,
    principal: MaybePrincipal,
    repository: RepositoryPath,
    path: PackagePath,
) -> Result<Reply, ApiError> {
    let principal = principal.required()?;
    let (repo, all) = owners::list(&services, repository.name(), &principal, &path.name).await?;
    let urls = Urls { services: &services, repo: &repo };
    Ok(Reply::ok(Value::Array(all.iter().map(|o| views::owner(&urls, o)).collect())))
}

/// `GET /api/packages/{name}/owners/{username_or_email}`.
#[tracing::instrument(skip_all, fields(package.name = %path.name))]
pub async fn get_owner(
    services: web::Data<Services>,
    principal: MaybePrincipal,
    repository: RepositoryPath,
    path: OwnerPath,
) -> Result<Reply, ApiError> {
    let principal = principal.required()?;
    let owner = owners::get(&services, repository.name(), &principal, &path.name, &path.owner).await?;
    let urls = Urls { services: &services, repo: services.public() };
    Ok(Reply::ok(views::owner(&urls, &owner)))
}

#[derive(Debug, Deserialize)]
pub struct OwnerBody {
    level: Option<String>,
    transfer: Option<bool>,
}

/// `PUT /api/packages/{name}/owners/{username_or_email}` with `{level, transfer}` (204).
#[tracing::instrument(skip_all, fields(package.name = %path.name))]
pub async fn set_owner(
    services: web::Data<Services>,
    principal: MaybePrincipal,
    repository: RepositoryPath,
    path: OwnerPath,
    Body(body): Body<OwnerBody>,
) -> Result<Reply, ApiError> {
    let principal = principal.required()?;
    let transfer = body.transfer.unwrap_or(false);
    owners::set(
        &services,
        repository.name(),
        Acting::Caller(&principal),
        &path.name,
        &path.owner,
        body.level.as_deref(),
        transfer,
    )
    .await?;
    Ok(Reply::no_content())
}

/// `DELETE /api/packages/{name}/owners/{username_or_email}` (204).
#[tracing::instrument(skip_all, fields(package.name = %path.name))]
pub async fn remove_owner(
    services: web::Data<Services>,
    principal: MaybePrincipal,
    repository: RepositoryPath,
    path: OwnerPath,
) -> Result<Reply, ApiError> {
    let principal = principal.required()?;
    owners::remove(&services, repository.name(), Acting::Caller(&principal), &path.name, &path.owner).await?;
    Ok(Reply::no_content())
}

//! Audit logs: `/api/users/me/audit-logs` and `/api/packages/{name}/audit-logs`, 100 a page.

use actix_web::web;
use hexyard_service::{Services, audit};
use serde::Deserialize;

use crate::error::ApiError;
use crate::extract::{PackagePath, RepositoryPath};
use crate::media::Reply;
use crate::principal::MaybePrincipal;
use crate::views;

#[derive(Debug, Deserialize)]
pub struct PageQuery {
    page: Option<String>,
}

/// `GET /api/users/me/audit-logs`.
#[tracing::instrument(skip_all)]
pub async fn get_my_audit_logs(
    services: web::Data<Services>,
    principal: MaybePrincipal,
    query: web::Query<PageQuery>,
) -> Result<Reply, ApiError> {
    let principal = principal.required()?;
    let entries = audit::of_caller(&services, &principal, super::page(query.page.as_deref())?).await?;
    Ok(Reply::ok(views::audit_entries(&entries)))
}

/// `GET /api/packages/{name}/audit-logs`.
#[tracing::instrument(skip_all, fields(package.name = %path.name))]
pub async fn get_package_audit_logs(
    services: web::Data<Services>,
    principal: MaybePrincipal,
    repository: RepositoryPath,
    path: PackagePath,
    query: web::Query<PageQuery>,
) -> Result<Reply, ApiError> {
    let principal = principal.required()?;
    let page = super::page(query.page.as_deref())?;
    let entries = audit::of_package(&services, &principal, repository.name(), &path.name, page).await?;
    Ok(Reply::ok(views::audit_entries(&entries)))
}

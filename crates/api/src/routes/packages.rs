//! `/api/packages` and `/api/packages/{name}`.

use actix_web::web;
use hexyard_service::Services;
use hexyard_service::packages::{self, ListQuery};
use serde::Deserialize;
use serde_json::Value;

use crate::error::ApiError;
use crate::extract::{PackagePath, RepositoryPath};
use crate::media::Reply;
use crate::principal::MaybePrincipal;
use crate::views::{self, Urls};

#[derive(Debug, Deserialize)]
pub struct ListParams {
    search: Option<String>,
    sort: Option<String>,
    page: Option<String>,
}

/// `GET /api/packages?search=&sort=&page=`: 100 a page. The search is a substring of the
/// name for now.
#[tracing::instrument(skip_all)]
pub async fn list_packages(
    services: web::Data<Services>,
    principal: MaybePrincipal,
    repository: RepositoryPath,
    query: web::Query<ListParams>,
) -> Result<Reply, ApiError> {
    let query = query.into_inner();
    let query = ListQuery { search: query.search, sort: query.sort, page: query.page };
    let (repo, found) = packages::list(&services, repository.name(), principal.as_ref(), &query).await?;
    let urls = Urls { services: &services, repo: &repo };
    let body: Vec<Value> = found.iter().map(|(p, releases)| views::package(&urls, p, releases, None)).collect();
    Ok(Reply::ok(Value::Array(body)))
}

/// `GET /api/packages/{name}`.
#[tracing::instrument(skip_all, fields(package.name = %path.name))]
pub async fn get_package(
    services: web::Data<Services>,
    principal: MaybePrincipal,
    repository: RepositoryPath,
    path: PackagePath,
) -> Result<Reply, ApiError> {
    let found = packages::get(&services, repository.name(), principal.as_ref(), &path.name).await?;
    let urls = Urls { services: &services, repo: &found.repo };
    Ok(Reply::ok(views::package(&urls, &found.package, &found.releases, Some(&found.owners))))
}

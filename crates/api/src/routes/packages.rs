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
    per_page: Option<String>,
}

/// `GET /api/packages?search=&sort=&page=&per_page=`: hex.pm's search syntax, up to 100 a page;
/// unprefixed, the public repository's packages and those of the caller's organizations.
#[tracing::instrument(skip_all)]
pub async fn list_packages(
    services: web::Data<Services>,
    principal: MaybePrincipal,
    repository: RepositoryPath,
    query: web::Query<ListParams>,
) -> Result<Reply, ApiError> {
    let query = query.into_inner();
    let query = ListQuery { search: query.search, sort: query.sort, page: query.page, per_page: query.per_page };
    let found = packages::list(&services, repository.name(), principal.as_ref(), &query).await?;
    let body: Vec<Value> = found
        .iter()
        .map(|l| {
            views::package(&Urls { services: &services, repo: &l.repo }, &l.package, &l.releases, None, &l.downloads)
        })
        .collect();
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
    Ok(Reply::ok(views::package(&urls, &found.package, &found.releases, Some(&found.owners), &found.downloads)))
}

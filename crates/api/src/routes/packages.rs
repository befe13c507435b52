//! `/api/packages` and `/api/packages/{name}`.

use actix_web::{HttpRequest, web};
use hexyard_storage::packages::Sort;
use hexyard_storage::{owners, packages, releases};
use serde::Deserialize;
use serde_json::Value;

use crate::error::ApiError;
use crate::extract::PackagePath;
use crate::media::Reply;
use crate::principal::MaybePrincipal;
use crate::routes::repository;
use crate::state::AppState;
use crate::views::{self, Urls};

const PER_PAGE: u32 = 100;

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    search: Option<String>,
    sort: Option<String>,
    page: Option<String>,
}

/// `GET /api/packages?search=&sort=&page=`: 100 a page. The search is a substring of the
/// name for now.
#[tracing::instrument(skip_all)]
pub async fn list_packages(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: MaybePrincipal,
    query: web::Query<ListQuery>,
) -> Result<Reply, ApiError> {
    let repo = repository(&state, &req, principal.0.as_ref()).await?;
    let sort = match query.sort.as_deref().unwrap_or("name") {
        "name" => Sort::Name,
        "inserted_at" => Sort::InsertedAt,
        "updated_at" => Sort::UpdatedAt,
        "recent_downloads" | "total_downloads" | "downloads" => Sort::Downloads,
        other => return Err(ApiError::field("sort", format!("invalid sort {other:?}"))),
    };
    let page = match query.page.as_deref() {
        None => 1,
        Some(p) => p
            .parse::<u32>()
            .ok()
            .filter(|&p| (1..=100_000).contains(&p))
            .ok_or_else(|| ApiError::field("page", "is invalid"))?,
    };
    let search = query.search.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let found = packages::list(&state.db, &[repo.id], search, sort, page, PER_PAGE).await?;
    let ids: Vec<i64> = found.iter().map(|p| p.id).collect();
    let all_releases = releases::of_packages(&state.db, &ids).await?;
    let urls = Urls { state: &state, repo: &repo };
    let body: Vec<Value> = found
        .iter()
        .map(|p| {
            let own: Vec<_> = all_releases.iter().filter(|r| r.package_id == p.id).cloned().collect();
            views::package(&urls, p, &own, None)
        })
        .collect();
    Ok(Reply::ok(Value::Array(body)))
}

/// `GET /api/packages/{name}`.
#[tracing::instrument(skip_all, fields(package.name = %path.name))]
pub async fn get_package(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: MaybePrincipal,
    path: PackagePath,
) -> Result<Reply, ApiError> {
    let repo = repository(&state, &req, principal.0.as_ref()).await?;
    let package = packages::get(&state.db, repo.id, path.name.as_str()).await?.ok_or_else(ApiError::not_found)?;
    let rels = releases::of_package(&state.db, package.id).await?;
    if rels.is_empty() {
        return Err(ApiError::not_found());
    }
    let package_owners = owners::of_package(&state.db, package.id).await?;
    Ok(Reply::ok(views::package(&Urls { state: &state, repo: &repo }, &package, &rels, Some(&package_owners))))
}

//! Audit logs: `/api/users/me/audit-logs` and `/api/packages/{name}/audit-logs`, 100 a page.

use actix_web::{HttpRequest, web};
use hexyard_storage::audit::{self, Entry};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::extract::PackagePath;
use crate::media::Reply;
use crate::principal::MaybePrincipal;
use crate::routes::repository;
use crate::state::AppState;
use crate::views::timestamp;

const PER_PAGE: u32 = 100;

#[derive(Debug, Deserialize)]
pub struct PageQuery {
    page: Option<String>,
}

fn page(query: &PageQuery) -> Result<u32, ApiError> {
    match query.page.as_deref() {
        None => Ok(1),
        Some(p) => {
            p.parse().ok().filter(|&p| (1..=100_000).contains(&p)).ok_or_else(|| ApiError::field("page", "is invalid"))
        }
    }
}

/// hex.pm's API shows the action, its parameters and the user agent, not the address.
fn view(entries: &[Entry]) -> Value {
    entries
        .iter()
        .map(|e| json!({"action": e.action, "params": e.params, "user_agent": e.user_agent, "inserted_at": timestamp(e.inserted_at)}))
        .collect()
}

/// `GET /api/users/me/audit-logs`.
#[tracing::instrument(skip_all)]
pub async fn get_my_audit_logs(
    state: web::Data<AppState>,
    principal: MaybePrincipal,
    query: web::Query<PageQuery>,
) -> Result<Reply, ApiError> {
    let principal = principal.required()?;
    principal.require_api_read()?;
    let entries = audit::of_user(&state.db, principal.user()?.id, page(&query)?, PER_PAGE).await?;
    Ok(Reply::ok(view(&entries)))
}

/// `GET /api/packages/{name}/audit-logs`.
#[tracing::instrument(skip_all, fields(package.name = %path.name))]
pub async fn get_package_audit_logs(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: MaybePrincipal,
    path: PackagePath,
    query: web::Query<PageQuery>,
) -> Result<Reply, ApiError> {
    let principal = principal.required()?;
    principal.require_api_read()?;
    let repo = repository(&state, &req, Some(&principal)).await?;
    if hexyard_storage::packages::get(&state.db, repo.id, path.name.as_str()).await?.is_none() {
        return Err(ApiError::not_found());
    }
    let entries = audit::of_package(&state.db, &repo.name, path.name.as_str(), page(&query)?, PER_PAGE).await?;
    Ok(Reply::ok(view(&entries)))
}

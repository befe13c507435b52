//! `/api/repos`: the repositories the caller can see (today the instance's public one;
//! organizations' arrive with their own work).

use actix_web::web;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::media::Reply;
use crate::registry::RepositoryRegistry;
use crate::state::AppState;

fn view(state: &AppState, repo: &RepositoryRegistry) -> Value {
    json!({
        "name": repo.name,
        "public": repo.public,
        "url": state.api_url(&format!("/repos/{}", repo.name)),
        "repo_url": format!("{}/repo", state.config.public_url),
        "public_key": String::from_utf8_lossy(&repo.public_key_pem()),
        "fingerprint": repo.fingerprint(),
    })
}

/// `GET /api/repos`.
#[tracing::instrument(skip_all)]
pub async fn list_repos(state: web::Data<AppState>) -> Reply {
    Reply::ok(Value::Array(vec![view(&state, &state.public)]))
}

/// `GET /api/repos/{name}`; `hexpm` names the public repository, as everywhere under `/api/repos`.
#[tracing::instrument(skip_all)]
pub async fn get_repo(state: web::Data<AppState>, name: web::Path<String>) -> Result<Reply, ApiError> {
    let repo = state.repository(Some(&name)).ok_or_else(ApiError::not_found)?;
    Ok(Reply::ok(view(&state, repo)))
}

//! `/api/repos`: the repositories the caller can see (today the instance's public one;
//! organizations' arrive with their own work).

use actix_web::web;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::media::Reply;
use crate::principal::MaybePrincipal;
use crate::registry::RepositoryRegistry;
use crate::state::AppState;

fn view(state: &AppState, repo: &RepositoryRegistry) -> Value {
    json!({
        "name": repo.name,
        "public": repo.public,
        "url": state.api_url(&format!("/repos/{}", repo.name)),
        "repo_url": if repo.public {
            format!("{}/repo", state.config.public_url)
        } else {
            format!("{}/repo/repos/{}", state.config.public_url, repo.name)
        },
        "public_key": String::from_utf8_lossy(&repo.public_key_pem()),
        "fingerprint": repo.fingerprint(),
    })
}

/// `GET /api/repos`: the public repository and those of the caller's organizations.
#[tracing::instrument(skip_all)]
pub async fn list_repos(state: web::Data<AppState>, principal: MaybePrincipal) -> Result<Reply, ApiError> {
    let mut all = vec![view(&state, &state.public)];
    if let Some(p) = &principal.0 {
        let orgs = match (&p.user, &p.organization) {
            (Some(user), _) => {
                hexyard_storage::orgs::of_user(&state.db, user.id).await?.into_iter().map(|(o, _)| o).collect()
            }
            (None, Some(org)) => vec![org.clone()],
            (None, None) => Vec::new(),
        };
        for org in orgs {
            if let Some(repo) = state.repository(Some(&org.name)).await?
                && crate::routes::can_read_private(&state, &repo, Some(p)).await?
            {
                all.push(view(&state, &repo));
            }
        }
    }
    Ok(Reply::ok(Value::Array(all)))
}

/// `GET /api/repos/{name}`; `hexpm` names the public repository, as everywhere under `/api/repos`.
#[tracing::instrument(skip_all)]
pub async fn get_repo(
    state: web::Data<AppState>,
    principal: MaybePrincipal,
    name: web::Path<String>,
) -> Result<Reply, ApiError> {
    let repo = state.repository(Some(&name)).await?.ok_or_else(ApiError::not_found)?;
    if !repo.public && !crate::routes::can_read_private(&state, &repo, principal.0.as_ref()).await? {
        return Err(ApiError::not_found());
    }
    Ok(Reply::ok(view(&state, &repo)))
}

//! `/api/repos`: the repositories the caller can see: the instance's public one and those of
//! the caller's organizations.

use actix_web::web;
use hexyard_service::{RepositoryRegistry, Services, authz};
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::extract::OrgPath;
use crate::media::Reply;
use crate::principal::MaybePrincipal;

fn view(services: &Services, repo: &RepositoryRegistry) -> Value {
    let base = &services.settings.public_url;
    json!({
        "name": repo.name,
        "public": repo.public,
        "url": services.api_url(&format!("/repos/{}", repo.name)),
        "repo_url": if repo.public { format!("{base}/repo") } else { format!("{base}/repo/repos/{}", repo.name) },
        "public_key": String::from_utf8_lossy(&repo.public_key_pem()),
        "fingerprint": repo.fingerprint(),
    })
}

/// `GET /api/repos`: the public repository and those of the caller's organizations.
#[tracing::instrument(skip_all)]
pub async fn list_repos(services: web::Data<Services>, principal: MaybePrincipal) -> Result<Reply, ApiError> {
    let all = authz::readable_repositories(&services, principal.as_ref()).await?;
    Ok(Reply::ok(all.iter().map(|r| view(&services, r)).collect()))
}

/// `GET /api/repos/{name}`; `hexpm` names the public repository, as everywhere under `/api/repos`.
#[tracing::instrument(skip_all)]
pub async fn get_repo(
    services: web::Data<Services>,
    principal: MaybePrincipal,
    path: OrgPath,
) -> Result<Reply, ApiError> {
    let repo = authz::readable_repository(&services, Some(path.0.as_str()), principal.as_ref()).await?;
    Ok(Reply::ok(view(&services, &repo)))
}

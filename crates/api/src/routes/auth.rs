//! `GET /api/auth?domain=&resource=`: does the caller's key grant this? Used by
//! `mix hex.organization auth ORG --key KEY` and by proxies in front of private repositories.

use actix_web::web;
use hexyard_auth::{Domain, Grants, Permission};
use serde::Deserialize;
use serde_json::json;

use crate::error::ApiError;
use crate::media::Reply;
use crate::principal::{MaybePrincipal, not_authorized};
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct AuthQuery {
    domain: Option<String>,
    resource: Option<String>,
}

#[tracing::instrument(skip_all)]
pub async fn get_auth(
    state: web::Data<AppState>,
    principal: MaybePrincipal,
    query: web::Query<AuthQuery>,
) -> Result<Reply, ApiError> {
    let principal = principal.required()?;
    let domain = query.domain.as_deref().unwrap_or("api");
    let wanted =
        Permission::parse(domain, query.resource.as_deref()).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let grants = &principal.permissions[..];
    let allowed = match wanted.domain {
        Domain::Api if wanted.resource.as_deref() == Some("read") => grants.allows_api_read(),
        Domain::Api => grants.allows_api_write(),
        Domain::Repositories => grants.iter().any(|p| p.domain == Domain::Repositories),
        // organizations arrive later: only the public repository can be named today
        Domain::Repository => {
            let name = wanted.resource.as_deref().unwrap_or_default();
            match state.repository(Some(name)).await? {
                Some(repo) if repo.public => grants.allows_repository(name) || grants.allows_api_read(),
                Some(repo) => crate::routes::can_read_private(&state, &repo, Some(&principal)).await?,
                None => false,
            }
        }
        Domain::Package => grants.allows_package(
            &state.public.name,
            &state.public.name,
            wanted.resource.as_deref().unwrap_or_default(),
        ),
    };
    if !allowed {
        return Err(not_authorized());
    }
    // mix reads key.owner.type: "user" or "organization"
    let (authed_as, owner) = match (&principal.user, &principal.organization) {
        (Some(u), _) => (u.username.clone(), json!({"type": "user", "username": u.username})),
        (None, Some(o)) => (o.name.clone(), json!({"type": "organization", "name": o.name})),
        (None, None) => return Err(not_authorized()),
    };
    Ok(Reply::ok(json!({"authed_as": authed_as, "key": {"name": principal.key_name, "owner": owner}})))
}

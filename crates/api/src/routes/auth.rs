//! `GET /api/auth?domain=&resource=`: does the caller's key grant this? Used by
//! `mix hex.organization auth ORG --key KEY` and by proxies in front of private repositories.

use actix_web::web;
use hexyard_service::{Error, Services, authz};
use serde::Deserialize;
use serde_json::json;

use crate::error::ApiError;
use crate::media::Reply;
use crate::principal::MaybePrincipal;

#[derive(Debug, Deserialize)]
pub struct AuthQuery {
    domain: Option<String>,
    resource: Option<String>,
}

#[tracing::instrument(skip_all)]
pub async fn get_auth(
    services: web::Data<Services>,
    principal: MaybePrincipal,
    query: web::Query<AuthQuery>,
) -> Result<Reply, ApiError> {
    let principal = principal.required()?;
    let domain = query.domain.as_deref().unwrap_or("api");
    if !authz::allows(&services, &principal, domain, query.resource.as_deref()).await? {
        return Err(Error::not_authorized().into());
    }
    // mix reads key.owner.type: "user" or "organization"
    let (authed_as, owner) = match (&principal.user, &principal.organization) {
        (Some(u), _) => (u.username.clone(), json!({"type": "user", "username": u.username})),
        (None, Some(o)) => (o.name.clone(), json!({"type": "organization", "name": o.name})),
        (None, None) => return Err(Error::not_authorized().into()),
    };
    Ok(Reply::ok(json!({"authed_as": authed_as, "key": {"name": principal.key_name, "owner": owner}})))
}

//! `/api/keys`: the caller's API keys. The secret is shown once, in the answer to its creation.

use actix_web::http::header;
use actix_web::web;
use hexyard_service::Services;
use hexyard_service::keys::{self, KeyRequest};
use serde::Deserialize;
use serde_json::json;

use crate::error::ApiError;
use crate::extract::KeyPath;
use crate::media::{Body, Reply};
use crate::principal::MaybePrincipal;
use crate::views;

#[derive(Debug, Deserialize)]
pub struct CreateKey {
    name: Option<String>,
    permissions: Option<Vec<PermissionBody>>,
    /// ISO 8601: when the key stops working.
    revoke_at: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct PermissionBody {
    domain: String,
    resource: Option<String>,
}

impl CreateKey {
    pub fn into_request(self) -> KeyRequest {
        KeyRequest {
            name: self.name,
            permissions: self.permissions.map(|ps| ps.into_iter().map(|p| (p.domain, p.resource)).collect()),
            revoke_at: self.revoke_at,
        }
    }
}

/// `POST /api/keys`, with Basic authentication or a key that may write.
#[tracing::instrument(skip_all)]
pub async fn create_key(
    services: web::Data<Services>,
    principal: MaybePrincipal,
    Body(body): Body<CreateKey>,
) -> Result<Reply, ApiError> {
    let principal = principal.required()?;
    let created = keys::create_own(&services, &principal, &body.into_request()).await?;
    let location = services.api_url(&format!("/keys/{}", created.key.name));
    let body = views::key(&services, &created.key, principal.key_id, Some(&created.secret));
    Ok(Reply::created(body).header(header::LOCATION, location))
}

/// `GET /api/keys`.
#[tracing::instrument(skip_all)]
pub async fn list_keys(services: web::Data<Services>, principal: MaybePrincipal) -> Result<Reply, ApiError> {
    let principal = principal.required()?;
    let all = keys::list_own(&services, &principal).await?;
    Ok(Reply::ok(all.iter().map(|k| views::key(&services, k, principal.key_id, None)).collect()))
}

/// `GET /api/keys/{name}`.
#[tracing::instrument(skip_all)]
pub async fn get_key(
    services: web::Data<Services>,
    principal: MaybePrincipal,
    path: KeyPath,
) -> Result<Reply, ApiError> {
    let principal = principal.required()?;
    let key = keys::get_own(&services, &principal, &path.key).await?;
    Ok(Reply::ok(views::key(&services, &key, principal.key_id, None)))
}

/// `DELETE /api/keys/{name}`: answers the revoked key, with `authing_key` telling whether it
/// was the one used for this request.
#[tracing::instrument(skip_all)]
pub async fn delete_key(
    services: web::Data<Services>,
    principal: MaybePrincipal,
    path: KeyPath,
) -> Result<Reply, ApiError> {
    let principal = principal.required()?;
    let key = keys::revoke_own(&services, &principal, &path.key).await?;
    Ok(Reply::ok(views::key(&services, &key, principal.key_id, None)))
}

/// `DELETE /api/keys`: revokes every key of the caller and answers the one that authenticated
/// the request (mix reads `authing_key` from it).
#[tracing::instrument(skip_all)]
pub async fn delete_keys(services: web::Data<Services>, principal: MaybePrincipal) -> Result<Reply, ApiError> {
    let principal = principal.required()?;
    let body = match keys::revoke_all_own(&services, &principal).await? {
        Some(key) => views::key(&services, &key, principal.key_id, None),
        None => json!({"authing_key": false}),
    };
    Ok(Reply::ok(body))
}

//! `/api/keys`: a user's API keys. The secret is shown once, in the answer to its creation.

use actix_web::http::header;
use actix_web::{HttpRequest, web};
use hexyard_auth::{KeySecret, Permission};
use hexyard_storage::keys::{NewKey, StoredPermission};
use hexyard_storage::{audit, keys};
use serde::Deserialize;
use serde_json::json;

use crate::error::ApiError;
use crate::media::{Body, Reply};
use crate::principal::MaybePrincipal;
use crate::state::AppState;
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

/// `POST /api/keys`, with Basic authentication or a key that may write.
#[tracing::instrument(skip_all)]
pub async fn create_key(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: MaybePrincipal,
    Body(body): Body<CreateKey>,
) -> Result<Reply, ApiError> {
    let principal = principal.required()?;
    principal.require_api_write()?;
    crate::otp::require_write_otp(&state, &principal, req.headers()).await?;
    let name = body.name.as_deref().map(str::trim).unwrap_or_default();
    if name.is_empty() || name.len() > 255 {
        return Err(ApiError::field("name", "can't be blank"));
    }
    let requested = body.permissions.unwrap_or_else(|| vec![PermissionBody { domain: "api".into(), resource: None }]);
    let mut permissions = Vec::new();
    for p in &requested {
        let parsed = Permission::parse(&p.domain, p.resource.as_deref())
            .map_err(|e| ApiError::field("permissions", e.to_string()))?;
        permissions.push(StoredPermission { domain: parsed.domain.as_str().to_owned(), resource: parsed.resource });
    }
    if permissions.is_empty() {
        return Err(ApiError::field("permissions", "can't be blank"));
    }
    let revoke_at = match body.revoke_at.as_deref().filter(|t| !t.is_empty()) {
        None => None,
        Some(text) => {
            let at = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
                .map_err(|_| ApiError::field("revoke_at", "is not an ISO 8601 time"))?;
            if at <= time::OffsetDateTime::now_utc() {
                return Err(ApiError::field("revoke_at", "must be in the future"));
            }
            Some(at)
        }
    };
    let secret = KeySecret::generate();
    let hmac = secret.hmac(&state.config.secret);
    let mut tx = state.db.begin().await?;
    let new = NewKey {
        owner: keys::Owner::User(principal.user()?.id),
        name,
        secret_prefix: secret.prefix(),
        secret_hmac: &hmac,
        permissions: &permissions,
        revoke_at,
    };
    let key = keys::create(&mut tx, &new).await?.ok_or_else(|| ApiError::field("name", "has already been taken"))?;
    audit::record(&mut *tx, &principal.actor, "key.generate", json!({"name": name, "permissions": permissions}))
        .await?;
    tx.commit().await?;
    let body = views::key(&state, &key, principal.key_id, Some(secret.expose()));
    Ok(Reply::created(body).header(header::LOCATION, state.api_url(&format!("/keys/{name}"))))
}

/// `GET /api/keys`.
#[tracing::instrument(skip_all)]
pub async fn list_keys(state: web::Data<AppState>, principal: MaybePrincipal) -> Result<Reply, ApiError> {
    let principal = principal.required()?;
    principal.require_api_read()?;
    let all = keys::list(&state.db, principal.key_owner()).await?;
    Ok(Reply::ok(all.iter().map(|k| views::key(&state, k, principal.key_id, None)).collect()))
}

/// `GET /api/keys/{name}`.
#[tracing::instrument(skip_all)]
pub async fn get_key(
    state: web::Data<AppState>,
    principal: MaybePrincipal,
    path: web::Path<String>,
) -> Result<Reply, ApiError> {
    let principal = principal.required()?;
    principal.require_api_read()?;
    let key = keys::get(&state.db, principal.key_owner(), &path).await?.ok_or_else(ApiError::not_found)?;
    Ok(Reply::ok(views::key(&state, &key, principal.key_id, None)))
}

/// `DELETE /api/keys/{name}`: answers the revoked key, with `authing_key` telling whether it
/// was the one used for this request.
#[tracing::instrument(skip_all)]
pub async fn delete_key(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: MaybePrincipal,
    path: web::Path<String>,
) -> Result<Reply, ApiError> {
    let principal = principal.required()?;
    principal.require_api_write()?;
    crate::otp::require_write_otp(&state, &principal, req.headers()).await?;
    let mut tx = state.db.begin().await?;
    let key = keys::revoke(&mut *tx, principal.key_owner(), &path).await?.ok_or_else(ApiError::not_found)?;
    audit::record(&mut *tx, &principal.actor, "key.remove", json!({"name": key.name})).await?;
    tx.commit().await?;
    Ok(Reply::ok(views::key(&state, &key, principal.key_id, None)))
}

/// `DELETE /api/keys`: revokes every key of the user and answers the one that authenticated
/// the request (mix reads `authing_key` from it).
#[tracing::instrument(skip_all)]
pub async fn delete_keys(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: MaybePrincipal,
) -> Result<Reply, ApiError> {
    let principal = principal.required()?;
    principal.require_api_write()?;
    crate::otp::require_write_otp(&state, &principal, req.headers()).await?;
    let authing = match &principal.key_name {
        Some(name) => keys::get(&state.db, principal.key_owner(), name).await?,
        None => None,
    };
    let mut tx = state.db.begin().await?;
    let count = keys::revoke_all(&mut *tx, principal.key_owner()).await?;
    audit::record(&mut *tx, &principal.actor, "key.remove_all", json!({"count": count})).await?;
    tx.commit().await?;
    let body = match authing {
        Some(key) => views::key(&state, &key, principal.key_id, None),
        None => json!({"authing_key": false}),
    };
    Ok(Reply::ok(body))
}

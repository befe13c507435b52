//! OAuth 2.0 endpoints for the Hex CLIs (the protocol itself is in
//! `hexyard_service::oauth`). Bodies in ETF (mix), JSON (Gleam) or a form; answers in the
//! requested media type, refusals as OAuth's `{error, error_description}`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use hexyard_service::Services;
use hexyard_service::oauth::{self, Refusal, TokenRequest, Tokens};
use serde::Deserialize;
use serde_json::json;

use crate::error::ApiError;
use crate::media::{Body, Reply};
use crate::principal::origin;

fn refusal(r: &Refusal) -> Reply {
    let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::BAD_REQUEST);
    Reply::ok(json!({"error": r.error, "error_description": r.description})).status(status)
}

fn tokens(t: &Tokens) -> Reply {
    let mut body = json!({
        "access_token": t.access_token,
        "token_type": "bearer",
        "expires_in": t.expires_in,
        "scope": t.scope,
    });
    if let Some(refresh_token) = &t.refresh_token {
        body["refresh_token"] = json!(refresh_token);
    }
    Reply::ok(body)
}

#[derive(Debug, Deserialize)]
pub struct DeviceRequest {
    client_id: Option<String>,
    scope: Option<String>,
    name: Option<String>,
}

/// `POST /api/oauth/device_authorization`.
#[tracing::instrument(skip_all)]
pub async fn device_authorization(
    services: web::Data<Services>,
    Body(body): Body<DeviceRequest>,
) -> Result<Reply, ApiError> {
    let started =
        oauth::start_device(&services, body.client_id.as_deref(), body.scope.as_deref(), body.name.as_deref()).await?;
    Ok(match started {
        Ok(d) => Reply::ok(json!({
            "device_code": d.device_code,
            "user_code": d.user_code,
            "verification_uri": d.verification_uri,
            "verification_uri_complete": d.verification_uri_complete,
            "expires_in": d.expires_in,
            "interval": d.interval,
        })),
        Err(r) => refusal(&r),
    })
}

#[derive(Debug, Deserialize)]
pub struct TokenBody {
    grant_type: Option<String>,
    client_id: Option<String>,
    device_code: Option<String>,
    refresh_token: Option<String>,
    client_secret: Option<String>,
    scope: Option<String>,
}

/// `POST /api/oauth/token`.
#[tracing::instrument(skip_all, fields(grant_type))]
pub async fn token(
    services: web::Data<Services>,
    req: HttpRequest,
    Body(body): Body<TokenBody>,
) -> Result<Reply, ApiError> {
    tracing::Span::current().record("grant_type", body.grant_type.as_deref().unwrap_or_default());
    let request = TokenRequest {
        grant_type: body.grant_type,
        client_id: body.client_id,
        device_code: body.device_code,
        refresh_token: body.refresh_token,
        client_secret: body.client_secret,
        scope: body.scope,
    };
    Ok(match oauth::token(&services, &request, &origin(&req)).await? {
        Ok(t) => tokens(&t),
        Err(r) => refusal(&r),
    })
}

#[derive(Debug, Deserialize)]
pub struct RevokeRequest {
    token: Option<String>,
    token_hash: Option<String>,
}

/// `POST /api/oauth/revoke` (RFC 7009): 200 whether or not the token was live.
#[tracing::instrument(skip_all)]
pub async fn revoke(services: web::Data<Services>, Body(body): Body<RevokeRequest>) -> Result<Reply, ApiError> {
    oauth::revoke(&services, body.token.as_deref()).await?;
    Ok(Reply::ok(json!({})))
}

/// `POST` (and, as Gleam sends it, `GET`) `/api/oauth/revoke_by_hash`: ends the grant of the
/// refresh token whose SHA-256 (hex) is given. 200 either way.
#[tracing::instrument(skip_all)]
pub async fn revoke_by_hash(services: web::Data<Services>, Body(body): Body<RevokeRequest>) -> Result<Reply, ApiError> {
    oauth::revoke_by_hash(&services, body.token_hash.as_deref()).await?;
    Ok(Reply::ok(json!({})))
}

//! OAuth 2.0 for the Hex CLIs: the device flow (RFC 8628), refresh with rotation, the
//! client_credentials exchange of an API key for a short-lived token, and revocation. Bodies in
//! ETF (mix), JSON (Gleam) or a form; answers in the requested media type, errors as OAuth's
//! `{error, error_description}`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use hexyard_auth::tokens::{parse_scopes, random_token, sha256, user_code};
use hexyard_auth::{Domain, Grants, Permission};
use hexyard_storage::audit;
use hexyard_storage::oauth::{self, NewDevice, NewToken};
use serde::Deserialize;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use crate::error::ApiError;
use crate::media::{Body, Reply};
use crate::principal::{actor_of, authenticate};
use crate::state::AppState;

const DEVICE_LIFETIME: Duration = Duration::minutes(10);
const INTERVAL: i32 = 5;
const ACCESS_LIFETIME: Duration = Duration::minutes(30);
const REFRESH_LIFETIME: Duration = Duration::days(30);

/// An OAuth error answer.
fn oauth_error(status: StatusCode, error: &str, description: &str) -> Reply {
    Reply::ok(json!({"error": error, "error_description": description})).status(status)
}

fn known_client<'a>(state: &'a AppState, client_id: Option<&str>) -> Option<&'a (String, String)> {
    state.config.oauth_clients.iter().find(|(id, _)| Some(id.as_str()) == client_id)
}

/// Scope names as stored: `api` stands for read and write.
fn scope_names(scopes: &[Permission]) -> Vec<String> {
    scopes.iter().map(ToString::to_string).collect()
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
    state: web::Data<AppState>,
    Body(body): Body<DeviceRequest>,
) -> Result<Reply, ApiError> {
    let Some((client_id, client_name)) = known_client(&state, body.client_id.as_deref()) else {
        return Ok(oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "unknown client_id"));
    };
    let scopes = match parse_scopes(body.scope.as_deref().unwrap_or("api:read")) {
        Ok(scopes) if !scopes.is_empty() => scopes,
        _ => return Ok(oauth_error(StatusCode::BAD_REQUEST, "invalid_scope", "unknown or empty scope")),
    };
    let device_code = random_token(32);
    let code = user_code();
    let name = body.name.as_deref().map(|n| format!("{client_name} ({})", n.chars().take(100).collect::<String>()));
    let new = NewDevice {
        device_code_hash: &sha256(&device_code),
        user_code: &code,
        client_id,
        client_name: Some(name.as_deref().unwrap_or(client_name)),
        scopes: &scope_names(&scopes),
        interval_seconds: INTERVAL,
        expires_at: OffsetDateTime::now_utc() + DEVICE_LIFETIME,
    };
    oauth::create_device(&state.db, &new).await?;
    let uri = format!("{}/oauth/device", state.config.public_url);
    Ok(Reply::ok(json!({
        "device_code": device_code,
        "user_code": code,
        "verification_uri": uri,
        "verification_uri_complete": format!("{uri}?user_code={code}"),
        "expires_in": DEVICE_LIFETIME.whole_seconds(),
        "interval": INTERVAL,
    })))
}

#[derive(Debug, Deserialize)]
pub struct TokenRequest {
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
    state: web::Data<AppState>,
    req: HttpRequest,
    Body(body): Body<TokenRequest>,
) -> Result<Reply, ApiError> {
    let grant_type = body.grant_type.as_deref().unwrap_or_default();
    tracing::Span::current().record("grant_type", grant_type);
    match grant_type {
        "urn:ietf:params:oauth:grant-type:device_code" => device_token(&state, &req, &body).await,
        "refresh_token" => refresh(&state, &req, &body).await,
        "client_credentials" => client_credentials(&state, &req, &body).await,
        _ => Ok(oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type", "unsupported grant_type")),
    }
}

/// Mints an access token (and a refresh token unless `refresh` is off) for a grant.
async fn issue(
    conn: &mut hexyard_storage::PgConnection,
    grant_id: i64,
    scopes: &[String],
    refresh: bool,
    access_lifetime: Duration,
) -> Result<Value, ApiError> {
    let now = OffsetDateTime::now_utc();
    let access = random_token(32);
    let refresh_token = refresh.then(|| random_token(32));
    let refresh_hash = refresh_token.as_deref().map(sha256);
    let new = NewToken {
        grant_id,
        access_hash: &sha256(&access),
        refresh_hash: refresh_hash.as_deref(),
        access_expires_at: now + access_lifetime,
        refresh_expires_at: refresh.then_some(now + REFRESH_LIFETIME),
    };
    oauth::create_token(&mut *conn, &new).await?;
    let mut body = json!({
        "access_token": access,
        "token_type": "bearer",
        "expires_in": access_lifetime.whole_seconds(),
        "scope": scopes.join(" "),
    });
    if let Some(refresh_token) = refresh_token {
        body["refresh_token"] = json!(refresh_token);
    }
    Ok(body)
}

async fn device_token(state: &AppState, req: &HttpRequest, body: &TokenRequest) -> Result<Reply, ApiError> {
    let Some(device_code) = body.device_code.as_deref() else {
        return Ok(oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "device_code is missing"));
    };
    let mut tx = state.db.begin().await?;
    let Some(device) = oauth::device_for_poll(&mut tx, &sha256(device_code)).await? else {
        return Ok(oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "unknown device_code"));
    };
    if Some(device.client_id.as_str()) != body.client_id.as_deref() {
        return Ok(oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "the device_code belongs to another client"));
    }
    let now = OffsetDateTime::now_utc();
    let reply = match device.status.as_str() {
        _ if device.expires_at <= now && device.status != "approved" => {
            oauth_error(StatusCode::BAD_REQUEST, "expired_token", "the device code has expired")
        }
        "denied" => oauth_error(StatusCode::FORBIDDEN, "access_denied", "the user denied the request"),
        "used" => oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "the device code was already used"),
        "approved" => {
            let user_id = device.user_id.ok_or_else(|| ApiError::internal("approved without a user"))?;
            let scopes = device.granted_scopes.clone().unwrap_or_default();
            let grant =
                oauth::create_grant(&mut *tx, user_id, &device.client_id, &scopes, now + REFRESH_LIFETIME).await?;
            let tokens = issue(&mut tx, grant, &scopes, true, ACCESS_LIFETIME).await?;
            oauth::mark_device_used(&mut *tx, device.id).await?;
            let actor = audit::Actor { user_id: Some(user_id), ..actor_of(req) };
            audit::record(&mut *tx, &actor, "oauth.token", json!({"client_id": device.client_id, "scopes": scopes}))
                .await?;
            Reply::ok(tokens)
        }
        _ => {
            // pending: polling faster than the interval earns slow_down and a longer interval
            let too_soon = device
                .last_polled_at
                .is_some_and(|at| now - at < Duration::seconds(i64::from(device.interval_seconds)));
            let interval = if too_soon { device.interval_seconds + 5 } else { device.interval_seconds };
            oauth::polled(&mut *tx, device.id, interval).await?;
            if too_soon {
                oauth_error(StatusCode::BAD_REQUEST, "slow_down", "polling too often")
            } else {
                oauth_error(StatusCode::BAD_REQUEST, "authorization_pending", "the user has not answered yet")
            }
        }
    };
    tx.commit().await?;
    Ok(reply)
}

async fn refresh(state: &AppState, req: &HttpRequest, body: &TokenRequest) -> Result<Reply, ApiError> {
    let Some(refresh_token) = body.refresh_token.as_deref() else {
        return Ok(oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "refresh_token is missing"));
    };
    let mut tx = state.db.begin().await?;
    let Some(old) = oauth::by_refresh_for_update(&mut tx, &sha256(refresh_token)).await? else {
        return Ok(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "refresh token has been revoked or has expired",
        ));
    };
    if body.client_id.as_deref().is_some_and(|id| id != old.client_id) {
        return Ok(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "the refresh token belongs to another client",
        ));
    }
    // rotation: the old pair dies with its use
    oauth::revoke_token(&mut *tx, old.id).await?;
    let tokens = issue(&mut tx, old.grant_id, &old.scopes, true, ACCESS_LIFETIME).await?;
    let actor = audit::Actor { user_id: Some(old.user_id), ..actor_of(req) };
    audit::record(&mut *tx, &actor, "oauth.refresh", json!({"client_id": old.client_id})).await?;
    tx.commit().await?;
    Ok(Reply::ok(tokens))
}

/// Exchanges an API key (`client_secret`) for a short-lived token no wider than the key.
async fn client_credentials(state: &AppState, req: &HttpRequest, body: &TokenRequest) -> Result<Reply, ApiError> {
    let Some(secret) = body.client_secret.as_deref() else {
        return Ok(oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "client_secret is missing"));
    };
    let header = actix_web::http::header::HeaderValue::from_str(secret).ok();
    let principal = match authenticate(state, header.as_ref(), actor_of(req)).await {
        Ok(Some(p)) if p.key_id.is_some() => p,
        _ => return Ok(oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "invalid API key")),
    };
    let requested = match parse_scopes(body.scope.as_deref().unwrap_or("repositories")) {
        Ok(scopes) if !scopes.is_empty() => scopes,
        _ => return Ok(oauth_error(StatusCode::BAD_REQUEST, "invalid_scope", "unknown or empty scope")),
    };
    if !requested.iter().all(|s| covers(&principal.permissions, s)) {
        return Ok(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            "Requested scopes exceed API key permissions",
        ));
    }
    let scopes = scope_names(&requested);
    let client_id = body.client_id.clone().unwrap_or_else(|| "api-key".to_owned());
    let now = OffsetDateTime::now_utc();
    let mut tx = state.db.begin().await?;
    let grant = oauth::create_grant(&mut *tx, principal.user()?.id, &client_id, &scopes, now + ACCESS_LIFETIME).await?;
    let tokens = issue(&mut tx, grant, &scopes, false, ACCESS_LIFETIME).await?;
    audit::record(&mut *tx, &principal.actor, "oauth.exchange", json!({"client_id": client_id, "scopes": scopes}))
        .await?;
    tx.commit().await?;
    Ok(Reply::ok(tokens))
}

/// Whether a key's grants include what a scope asks for.
fn covers(grants: &[Permission], wanted: &Permission) -> bool {
    match (wanted.domain, wanted.resource.as_deref()) {
        (Domain::Api, Some("read")) => grants.allows_api_read(),
        (Domain::Api, _) => {
            grants.iter().any(|g| g.domain == Domain::Api && g.resource.is_none())
                || (wanted.resource.is_some() && grants.allows_api_write())
        }
        (Domain::Repositories, _) => grants.iter().any(|g| g.domain == Domain::Repositories),
        (Domain::Repository, Some(r)) => grants.allows_repository(r),
        _ => grants.contains(wanted),
    }
}

#[derive(Debug, Deserialize)]
pub struct RevokeRequest {
    token: Option<String>,
    token_hash: Option<String>,
}

/// `POST /api/oauth/revoke` (RFC 7009): 200 whether or not the token was live.
#[tracing::instrument(skip_all)]
pub async fn revoke(state: web::Data<AppState>, Body(body): Body<RevokeRequest>) -> Result<Reply, ApiError> {
    if let Some(token) = body.token.as_deref() {
        oauth::revoke_by_hash(&state.db, &sha256(token)).await?;
    }
    Ok(Reply::ok(json!({})))
}

/// `POST` (and, as Gleam sends it, `GET`) `/api/oauth/revoke_by_hash`: ends the grant of the
/// refresh token whose SHA-256 (hex) is given. 200 either way.
#[tracing::instrument(skip_all)]
pub async fn revoke_by_hash(state: web::Data<AppState>, Body(body): Body<RevokeRequest>) -> Result<Reply, ApiError> {
    let hash = body.token_hash.as_deref().and_then(|h| hexyard_tarball::decode_hex(h.trim()));
    if let Some(hash) = hash.filter(|h| h.len() == 32) {
        oauth::revoke_grant_by_refresh(&state.db, &hash).await?;
    }
    Ok(Reply::ok(json!({})))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(scope: &str) -> Vec<Permission> {
        parse_scopes(scope).unwrap()
    }

    #[test]
    fn an_exchanged_token_is_no_wider_than_the_key() {
        assert!(covers(&p("api"), &p("api:write")[0]));
        assert!(covers(&p("api:write"), &p("api:read")[0]));
        assert!(!covers(&p("api:read"), &p("api:write")[0]));
        assert!(!covers(&p("api:write"), &p("api")[0]));
        assert!(covers(&p("repositories"), &p("repository:acme")[0]));
        assert!(!covers(&p("repository:acme"), &p("repositories")[0]));
        assert!(!covers(&p("api"), &p("repositories")[0]));
        assert!(covers(&p("package:plug"), &p("package:plug")[0]));
    }
}

//! OAuth 2.0 for the Hex CLIs: the device flow (RFC 8628) with its approval by a signed-in
//! user, refresh with rotation, the client_credentials exchange of an API key for a
//! short-lived token, and revocation. A refusal the protocol defines is a [`Refusal`], answered
//! as OAuth's `{error, error_description}`; everything else is an [`Error`].

use hexyard_auth::tokens::{normalize_user_code, parse_scopes, random_token, sha256, user_code};
use hexyard_auth::{Domain, Grants, Permission};
use hexyard_storage::oauth::{self, Device, NewDevice, NewToken};
use hexyard_storage::{PgConnection, audit};
use serde_json::json;
use time::{Duration, OffsetDateTime};

use crate::{Error, Origin, Result, Services, principal};

const DEVICE_LIFETIME: Duration = Duration::minutes(10);
/// Seconds between polls the device flow asks for.
pub const INTERVAL: i32 = 5;
const ACCESS_LIFETIME: Duration = Duration::minutes(30);
const REFRESH_LIFETIME: Duration = Duration::days(30);

/// A refusal as OAuth words it, with the status to answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: u16,
    pub error: &'static str,
    pub description: &'static str,
}

const fn refuse(status: u16, error: &'static str, description: &'static str) -> Refusal {
    Refusal { status, error, description }
}

/// An outcome of the protocol: what to answer, or a refusal.
pub type Outcome<T> = Result<std::result::Result<T, Refusal>>;

/// A started device authorization.
#[derive(Debug, Clone)]
pub struct DeviceStart {
    pub device_code: String,
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: String,
    pub expires_in: i64,
    pub interval: i32,
}

/// Issued tokens.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub expires_in: i64,
    pub scope: String,
}

/// What a token request carries.
#[derive(Debug, Clone, Default)]
pub struct TokenRequest {
    pub grant_type: Option<String>,
    pub client_id: Option<String>,
    pub device_code: Option<String>,
    pub refresh_token: Option<String>,
    pub client_secret: Option<String>,
    pub scope: Option<String>,
}

fn known_client<'a>(services: &'a Services, client_id: Option<&str>) -> Option<&'a (String, String)> {
    services.settings.oauth_clients.iter().find(|(id, _)| Some(id.as_str()) == client_id)
}

fn scope_names(scopes: &[Permission]) -> Vec<String> {
    scopes.iter().map(ToString::to_string).collect()
}

/// `POST /api/oauth/device_authorization`.
pub async fn start_device(
    services: &Services,
    client_id: Option<&str>,
    scope: Option<&str>,
    name: Option<&str>,
) -> Outcome<DeviceStart> {
    let Some((client_id, client_name)) = known_client(services, client_id) else {
        return Ok(Err(refuse(401, "invalid_client", "unknown client_id")));
    };
    let scopes = match parse_scopes(scope.unwrap_or("api:read")) {
        Ok(scopes) if !scopes.is_empty() => scopes,
        _ => return Ok(Err(refuse(400, "invalid_scope", "unknown or empty scope"))),
    };
    let device_code = random_token(32);
    let code = user_code();
    let shown = name.map(|n| format!("{client_name} ({})", n.chars().take(100).collect::<String>()));
    let new = NewDevice {
        device_code_hash: &sha256(&device_code),
        user_code: &code,
        client_id,
        client_name: Some(shown.as_deref().unwrap_or(client_name)),
        scopes: &scope_names(&scopes),
        interval_seconds: INTERVAL,
        expires_at: OffsetDateTime::now_utc() + DEVICE_LIFETIME,
    };
    oauth::create_device(&services.db, &new).await?;
    let uri = format!("{}/oauth/device", services.settings.public_url);
    Ok(Ok(DeviceStart {
        device_code,
        verification_uri_complete: format!("{uri}?user_code={code}"),
        verification_uri: uri,
        user_code: code,
        expires_in: DEVICE_LIFETIME.whole_seconds(),
        interval: INTERVAL,
    }))
}

/// `POST /api/oauth/token`, by grant type.
pub async fn token(services: &Services, request: &TokenRequest, origin: &Origin) -> Outcome<Tokens> {
    match request.grant_type.as_deref().unwrap_or_default() {
        "urn:ietf:params:oauth:grant-type:device_code" => device_token(services, request, origin).await,
        "refresh_token" => refresh(services, request, origin).await,
        "client_credentials" => client_credentials(services, request, origin).await,
        _ => Ok(Err(refuse(400, "unsupported_grant_type", "unsupported grant_type"))),
    }
}

/// Mints an access token (and a refresh token unless `refresh` is off) for a grant.
async fn issue(conn: &mut PgConnection, grant_id: i64, scopes: &[String], refresh: bool) -> Result<Tokens> {
    let now = OffsetDateTime::now_utc();
    let access = random_token(32);
    let refresh_token = refresh.then(|| random_token(32));
    let refresh_hash = refresh_token.as_deref().map(sha256);
    let new = NewToken {
        grant_id,
        access_hash: &sha256(&access),
        refresh_hash: refresh_hash.as_deref(),
        access_expires_at: now + ACCESS_LIFETIME,
        refresh_expires_at: refresh.then_some(now + REFRESH_LIFETIME),
    };
    oauth::create_token(&mut *conn, &new).await?;
    Ok(Tokens {
        access_token: access,
        refresh_token,
        expires_in: ACCESS_LIFETIME.whole_seconds(),
        scope: scopes.join(" "),
    })
}

async fn device_token(services: &Services, request: &TokenRequest, origin: &Origin) -> Outcome<Tokens> {
    let Some(device_code) = request.device_code.as_deref() else {
        return Ok(Err(refuse(400, "invalid_request", "device_code is missing")));
    };
    let mut tx = services.db.begin().await?;
    let Some(device) = oauth::device_for_poll(&mut tx, &sha256(device_code)).await? else {
        return Ok(Err(refuse(400, "invalid_grant", "unknown device_code")));
    };
    if Some(device.client_id.as_str()) != request.client_id.as_deref() {
        return Ok(Err(refuse(400, "invalid_grant", "the device_code belongs to another client")));
    }
    let now = OffsetDateTime::now_utc();
    let outcome = match device.status.as_str() {
        _ if device.expires_at <= now && device.status != "approved" => {
            Err(refuse(400, "expired_token", "the device code has expired"))
        }
        "denied" => Err(refuse(403, "access_denied", "the user denied the request")),
        "used" => Err(refuse(400, "invalid_grant", "the device code was already used")),
        "approved" => {
            let user_id = device.user_id.ok_or_else(|| Error::internal("a device flow", "approved without a user"))?;
            let scopes = device.granted_scopes.clone().unwrap_or_default();
            let grant =
                oauth::create_grant(&mut *tx, user_id, &device.client_id, &scopes, now + REFRESH_LIFETIME).await?;
            let tokens = issue(&mut tx, grant, &scopes, true).await?;
            oauth::mark_device_used(&mut *tx, device.id).await?;
            let params = json!({"client_id": device.client_id, "scopes": scopes});
            audit::record(&mut *tx, &origin.actor(Some(user_id)), "oauth.token", params).await?;
            Ok(tokens)
        }
        _ => {
            // pending: polling faster than the interval earns slow_down and a longer interval
            let too_soon = device
                .last_polled_at
                .is_some_and(|at| now - at < Duration::seconds(i64::from(device.interval_seconds)));
            let interval = if too_soon { device.interval_seconds + 5 } else { device.interval_seconds };
            oauth::polled(&mut *tx, device.id, interval).await?;
            if too_soon {
                Err(refuse(400, "slow_down", "polling too often"))
            } else {
                Err(refuse(400, "authorization_pending", "the user has not answered yet"))
            }
        }
    };
    tx.commit().await?;
    Ok(outcome)
}

async fn refresh(services: &Services, request: &TokenRequest, origin: &Origin) -> Outcome<Tokens> {
    let Some(refresh_token) = request.refresh_token.as_deref() else {
        return Ok(Err(refuse(400, "invalid_request", "refresh_token is missing")));
    };
    let mut tx = services.db.begin().await?;
    let Some(old) = oauth::by_refresh_for_update(&mut tx, &sha256(refresh_token)).await? else {
        return Ok(Err(refuse(400, "invalid_grant", "refresh token has been revoked or has expired")));
    };
    if request.client_id.as_deref().is_some_and(|id| id != old.client_id) {
        return Ok(Err(refuse(400, "invalid_grant", "the refresh token belongs to another client")));
    }
    // rotation: the old pair dies with its use
    oauth::revoke_token(&mut *tx, old.id).await?;
    let tokens = issue(&mut tx, old.grant_id, &old.scopes, true).await?;
    let params = json!({"client_id": old.client_id});
    audit::record(&mut *tx, &origin.actor(Some(old.user_id)), "oauth.refresh", params).await?;
    tx.commit().await?;
    Ok(Ok(tokens))
}

/// Exchanges an API key (`client_secret`) for a short-lived token no wider than the key.
async fn client_credentials(services: &Services, request: &TokenRequest, origin: &Origin) -> Outcome<Tokens> {
    let Some(secret) = request.client_secret.as_deref() else {
        return Ok(Err(refuse(401, "invalid_client", "client_secret is missing")));
    };
    let principal = match principal::authenticate(services, Some(secret), origin).await {
        Ok(Some(p)) if p.key_id.is_some() && p.user.is_some() => p,
        _ => return Ok(Err(refuse(401, "invalid_client", "invalid API key"))),
    };
    let requested = match parse_scopes(request.scope.as_deref().unwrap_or("repositories")) {
        Ok(scopes) if !scopes.is_empty() => scopes,
        _ => return Ok(Err(refuse(400, "invalid_scope", "unknown or empty scope"))),
    };
    if !requested.iter().all(|s| covers(&principal.permissions, s)) {
        return Ok(Err(refuse(400, "invalid_scope", "Requested scopes exceed API key permissions")));
    }
    let scopes = scope_names(&requested);
    let client_id = request.client_id.clone().unwrap_or_else(|| "api-key".to_owned());
    let now = OffsetDateTime::now_utc();
    let mut tx = services.db.begin().await?;
    let grant = oauth::create_grant(&mut *tx, principal.user()?.id, &client_id, &scopes, now + ACCESS_LIFETIME).await?;
    let tokens = issue(&mut tx, grant, &scopes, false).await?;
    let params = json!({"client_id": client_id, "scopes": scopes});
    audit::record(&mut *tx, &principal.actor, "oauth.exchange", params).await?;
    tx.commit().await?;
    Ok(Ok(tokens))
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

/// `POST /api/oauth/revoke` (RFC 7009): done whether or not the token was live.
pub async fn revoke(services: &Services, token: Option<&str>) -> Result<()> {
    if let Some(token) = token {
        oauth::revoke_by_hash(&services.db, &sha256(token)).await?;
    }
    Ok(())
}

/// `/api/oauth/revoke_by_hash`: ends the grant of the refresh token whose SHA-256 (hex) is given.
pub async fn revoke_by_hash(services: &Services, token_hash: Option<&str>) -> Result<()> {
    let hash = token_hash.and_then(|h| hexyard_tarball::decode_hex(h.trim()));
    if let Some(hash) = hash.filter(|h| h.len() == 32) {
        oauth::revoke_grant_by_refresh(&services.db, &hash).await?;
    }
    Ok(())
}

/// A device authorization waiting for its user's answer, by the code the user typed.
pub async fn pending_device(services: &Services, typed_code: &str) -> Result<Option<Device>> {
    let code = normalize_user_code(typed_code);
    if code.is_empty() {
        return Ok(None);
    }
    let device = oauth::device_by_user_code(&services.db, &code).await?;
    Ok(device.filter(|d| d.status == "pending" && d.expires_at > OffsetDateTime::now_utc()))
}

/// What the user's answer on the device page came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Approved,
    Denied,
    /// No such code.
    Unknown,
    /// Used, decided or expired already.
    Stale,
}

/// The signed-in user's answer to a device authorization.
pub async fn decide(
    services: &Services,
    user_id: i64,
    typed_code: &str,
    approve: bool,
    origin: &Origin,
) -> Result<Decision> {
    let code = normalize_user_code(typed_code);
    let Some(device) = oauth::device_by_user_code(&services.db, &code).await? else { return Ok(Decision::Unknown) };
    if !oauth::decide(&services.db, device.id, user_id, approve, &device.scopes).await? {
        return Ok(Decision::Stale);
    }
    let action = if approve { "oauth.device.approve" } else { "oauth.device.deny" };
    let params = json!({"client_id": device.client_id, "scopes": device.scopes});
    audit::record(&services.db, &origin.actor(Some(user_id)), action, params).await?;
    Ok(if approve { Decision::Approved } else { Decision::Denied })
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

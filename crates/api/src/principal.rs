//! Who is calling: the `Authorization` header resolved to a user and the grants of the key.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use hexyard_auth::tokens::{parse_scopes, sha256};
use hexyard_auth::{Credentials, Grants, KeySecret, Permission, verify_password};
use hexyard_storage::audit::Actor;
use hexyard_storage::keys::StoredPermission;
use hexyard_storage::orgs::Organization;
use hexyard_storage::users::User;

use crate::error::ApiError;
use crate::state::AppState;

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The user behind the credentials; `None` for an organization's key.
    pub user: Option<User>,
    /// The organization whose key was used.
    pub organization: Option<Organization>,
    /// The key used, when the caller sent one (not Basic).
    pub key_id: Option<i64>,
    pub key_name: Option<String>,
    pub permissions: Vec<Permission>,
    pub actor: Actor,
    /// The OAuth access token used (`Bearer`), rather than a key or a password.
    pub oauth_token: Option<i64>,
}

/// The caller as the rate limiter already authenticated them, kept in the request.
#[derive(Debug, Clone)]
pub struct Authenticated(pub Option<Principal>);

/// The caller, if they sent credentials; invalid credentials are refused here.
#[derive(Debug, Clone)]
pub struct MaybePrincipal(pub Option<Principal>);

impl MaybePrincipal {
    /// The caller, or 401 when there is none.
    pub fn required(self) -> Result<Principal, ApiError> {
        self.0.ok_or_else(|| {
            ApiError::unauthorized("missing authentication information")
                .with_header("www-authenticate", "Basic realm=hex")
        })
    }
}

impl Principal {
    /// The user behind the credentials; an organization's key has none, and may not do what
    /// only a user may.
    pub fn user(&self) -> Result<&User, ApiError> {
        self.user.as_ref().ok_or_else(not_authorized)
    }

    /// Whose keys the caller manages through `/api/keys`.
    pub fn key_owner(&self) -> hexyard_storage::keys::Owner {
        match (&self.user, &self.organization) {
            (Some(user), _) => hexyard_storage::keys::Owner::User(user.id),
            (None, Some(org)) => hexyard_storage::keys::Owner::Organization(org.id),
            (None, None) => hexyard_storage::keys::Owner::User(0),
        }
    }

    /// For rate limits and messages: `user NAME` or `organization NAME`.
    pub fn describe(&self) -> (String, String) {
        match (&self.user, &self.organization) {
            (Some(u), _) => (format!("user:{}", u.id), format!("user {}", u.username)),
            (None, Some(o)) => (format!("organization:{}", o.id), format!("organization {}", o.name)),
            (None, None) => ("nobody".into(), "nobody".into()),
        }
    }

    pub fn require_api_read(&self) -> Result<(), ApiError> {
        if self.permissions.allows_api_read() { Ok(()) } else { Err(not_authorized()) }
    }

    pub fn require_api_write(&self) -> Result<(), ApiError> {
        if self.permissions.allows_api_write() { Ok(()) } else { Err(not_authorized()) }
    }
}

/// hex.pm answers a key without the needed grant with 401, not 403.
pub fn not_authorized() -> ApiError {
    ApiError::unauthorized("key not authorized for this action")
}

/// Where the request came from, for audit logs and key last use.
pub fn actor_of(req: &HttpRequest) -> Actor {
    Actor {
        user_id: None,
        key_id: None,
        ip: req.connection_info().realip_remote_addr().map(str::to_owned),
        user_agent: req.headers().get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_owned),
    }
}

pub fn to_permissions(stored: &[StoredPermission]) -> Vec<Permission> {
    stored.iter().filter_map(|p| Permission::parse(&p.domain, p.resource.as_deref()).ok()).collect()
}

impl FromRequest for MaybePrincipal {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        if let Some(Authenticated(known)) = req.extensions().get::<Authenticated>() {
            let known = known.clone();
            return Box::pin(async move { Ok(MaybePrincipal(known)) });
        }
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let header = req.headers().get(header::AUTHORIZATION).cloned();
        let actor = actor_of(req);
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::internal("no application state"))?;
            authenticate(&state, header.as_ref(), actor).await.map(MaybePrincipal)
        })
    }
}

/// Resolves an `Authorization` header: none is `None`, anything invalid an error.
pub async fn authenticate(
    state: &AppState,
    header: Option<&header::HeaderValue>,
    actor: Actor,
) -> Result<Option<Principal>, ApiError> {
    let Some(header) = header else { return Ok(None) };
    let header = header.to_str().map_err(|_| ApiError::unauthorized("invalid authentication information"))?;
    if header.trim().is_empty() {
        return Ok(None);
    }
    let credentials =
        Credentials::parse(header).map_err(|_| ApiError::unauthorized("invalid authentication information"))?;
    let principal = match credentials {
        Credentials::Key(secret) => by_key(state, &secret, actor).await?,
        Credentials::Basic { username, password } => by_password(state, &username, password, actor).await?,
        Credentials::Bearer(token) => by_token(state, &token, actor).await?,
    };
    Ok(Some(principal))
}

async fn by_key(state: &AppState, secret: &str, mut actor: Actor) -> Result<Principal, ApiError> {
    let secret = KeySecret::from_client(secret);
    let candidates = hexyard_storage::keys::candidates(&state.db, secret.prefix()).await?;
    let key = candidates
        .into_iter()
        .find(|k| secret.matches(&state.config.secret, &k.secret_hmac))
        .ok_or_else(|| ApiError::unauthorized("invalid API key"))?;
    let invalid = || ApiError::unauthorized("invalid API key");
    let (user, organization) = match (key.user_id, key.organization_id) {
        (Some(id), _) => (Some(hexyard_storage::users::by_id(&state.db, id).await?.ok_or_else(invalid)?), None),
        (None, Some(id)) => (None, Some(hexyard_storage::orgs::by_id(&state.db, id).await?.ok_or_else(invalid)?)),
        (None, None) => return Err(invalid()),
    };
    hexyard_storage::keys::touch(&state.db, key.id, actor.ip.as_deref(), actor.user_agent.as_deref()).await?;
    actor.user_id = user.as_ref().map(|u| u.id);
    actor.key_id = Some(key.id);
    Ok(Principal {
        permissions: to_permissions(&key.permissions.0),
        key_id: Some(key.id),
        key_name: Some(key.name),
        user,
        organization,
        actor,
        oauth_token: None,
    })
}

async fn by_token(state: &AppState, token: &str, mut actor: Actor) -> Result<Principal, ApiError> {
    let invalid = || ApiError::unauthorized("invalid API key");
    let token = hexyard_storage::oauth::by_access(&state.db, &sha256(token)).await?.ok_or_else(invalid)?;
    let user = hexyard_storage::users::by_id(&state.db, token.user_id).await?.ok_or_else(invalid)?;
    actor.user_id = Some(user.id);
    let permissions = token.scopes.iter().filter_map(|s| parse_scopes(s).ok()).flatten().collect();
    Ok(Principal {
        user: Some(user),
        organization: None,
        key_id: None,
        key_name: None,
        permissions,
        actor,
        oauth_token: Some(token.id),
    })
}

async fn by_password(
    state: &AppState,
    username: &str,
    password: String,
    mut actor: Actor,
) -> Result<Principal, ApiError> {
    let wrong = || ApiError::unauthorized("invalid username and password combination");
    let user = hexyard_storage::users::by_name_or_email(&state.db, username).await?.ok_or_else(wrong)?;
    let hash = user.password_hash.clone().ok_or_else(wrong)?;
    let ok =
        tokio::task::spawn_blocking(move || verify_password(&password, &hash)).await.map_err(ApiError::internal)?;
    if !ok {
        return Err(wrong());
    }
    actor.user_id = Some(user.id);
    // a password stands for the whole account
    let permissions = vec![Permission::api(), Permission::parse("repositories", None).expect("a valid grant")];
    Ok(Principal {
        user: Some(user),
        organization: None,
        key_id: None,
        key_name: None,
        permissions,
        actor,
        oauth_token: None,
    })
}

//! Who is calling: an `Authorization` header resolved to a user or an organization, with the
//! grants of the credentials used.

use hexyard_auth::tokens::{parse_scopes, sha256};
use hexyard_auth::{Credentials, KeySecret, Permission, verify_password};
use hexyard_storage::audit::Actor;
use hexyard_storage::keys::StoredPermission;
use hexyard_storage::orgs::Organization;
use hexyard_storage::users::User;

use crate::{Error, Result, Services};

/// Where a request came from: the connection's address (forwarding headers are not trusted:
/// anyone can send them) and the User-Agent. Audit entries and key last use record it.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl Origin {
    /// The audit actor of an anonymous action from here, or of `user_id`'s.
    pub fn actor(&self, user_id: Option<i64>) -> Actor {
        Actor { user_id, key_id: None, ip: self.ip.clone(), user_agent: self.user_agent.clone() }
    }
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The user behind the credentials; `None` for an organization's key.
    pub user: Option<User>,
    /// The organization whose key was used.
    pub organization: Option<Organization>,
    /// The key used, when the caller sent one (not Basic, not Bearer).
    pub key_id: Option<i64>,
    pub key_name: Option<String>,
    pub permissions: Vec<Permission>,
    pub actor: Actor,
    /// The OAuth access token used (`Bearer`).
    pub oauth_token: Option<i64>,
    /// The TOTP code sent with this request (`x-hex-otp`), which an OAuth token's writes need.
    pub otp: Option<String>,
}

impl Principal {
    /// The user behind the credentials; an organization's key has none, and may not do what
    /// only a user may.
    pub fn user(&self) -> Result<&User> {
        self.user.as_ref().ok_or_else(Error::not_authorized)
    }

    /// For rate limits and messages: a bucket (`user:ID`) and a description (`user NAME`).
    pub fn describe(&self) -> (String, String) {
        match (&self.user, &self.organization) {
            (Some(u), _) => (format!("user:{}", u.id), format!("user {}", u.username)),
            (None, Some(o)) => (format!("organization:{}", o.id), format!("organization {}", o.name)),
            (None, None) => ("nobody".into(), "nobody".into()),
        }
    }
}

pub(crate) fn to_permissions(stored: &[StoredPermission]) -> Vec<Permission> {
    stored.iter().filter_map(|p| Permission::parse(&p.domain, p.resource.as_deref()).ok()).collect()
}

/// Resolves an `Authorization` header: none (or blank) is `None`, anything invalid an error.
pub async fn authenticate(services: &Services, header: Option<&str>, origin: &Origin) -> Result<Option<Principal>> {
    let Some(header) = header.filter(|h| !h.trim().is_empty()) else { return Ok(None) };
    let credentials =
        Credentials::parse(header).map_err(|_| Error::Unauthorized("invalid authentication information".into()))?;
    let actor = origin.actor(None);
    let principal = match credentials {
        Credentials::Key(secret) => by_key(services, &secret, actor).await?,
        Credentials::Basic { username, password } => by_password(services, &username, password, actor).await?,
        Credentials::Bearer(token) => by_token(services, &token, actor).await?,
    };
    Ok(Some(principal))
}

fn invalid_key() -> Error {
    Error::Unauthorized("invalid API key".into())
}

async fn by_key(services: &Services, secret: &str, mut actor: Actor) -> Result<Principal> {
    let secret = KeySecret::from_client(secret);
    let candidates = hexyard_storage::keys::candidates(&services.db, secret.prefix()).await?;
    let key =
        candidates.into_iter().find(|k| secret.matches(&services.secret, &k.secret_hmac)).ok_or_else(invalid_key)?;
    let (user, organization) = match (key.user_id, key.organization_id) {
        (Some(id), _) => (Some(hexyard_storage::users::by_id(&services.db, id).await?.ok_or_else(invalid_key)?), None),
        (None, Some(id)) => {
            (None, Some(hexyard_storage::orgs::by_id(&services.db, id).await?.ok_or_else(invalid_key)?))
        }
        (None, None) => return Err(invalid_key()),
    };
    hexyard_storage::keys::touch(&services.db, key.id, actor.ip.as_deref(), actor.user_agent.as_deref()).await?;
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
        otp: None,
    })
}

/// A user signed in without a key: by an OAuth token, or by password.
fn user_principal(user: User, permissions: Vec<Permission>, mut actor: Actor, oauth_token: Option<i64>) -> Principal {
    actor.user_id = Some(user.id);
    Principal {
        user: Some(user),
        organization: None,
        key_id: None,
        key_name: None,
        permissions,
        actor,
        oauth_token,
        otp: None,
    }
}

async fn by_token(services: &Services, token: &str, actor: Actor) -> Result<Principal> {
    let token = hexyard_storage::oauth::by_access(&services.db, &sha256(token)).await?.ok_or_else(invalid_key)?;
    let user = hexyard_storage::users::by_id(&services.db, token.user_id).await?.ok_or_else(invalid_key)?;
    let permissions = token.scopes.iter().filter_map(|s| parse_scopes(s).ok()).flatten().collect();
    Ok(user_principal(user, permissions, actor, Some(token.id)))
}

/// Checks a password in a blocking task (argon2 is slow on purpose).
pub(crate) async fn password_matches(hash: Option<String>, password: String) -> Result<bool> {
    let Some(hash) = hash else { return Ok(false) };
    Ok(tokio::task::spawn_blocking(move || verify_password(&password, &hash)).await?)
}

async fn by_password(services: &Services, username: &str, password: String, actor: Actor) -> Result<Principal> {
    let wrong = || Error::Unauthorized("invalid username and password combination".into());
    let user = hexyard_storage::users::by_name_or_email(&services.db, username).await?.ok_or_else(wrong)?;
    if !password_matches(user.password_hash.clone(), password).await? {
        return Err(wrong());
    }
    // a password stands for the whole account
    let permissions = vec![Permission::api(), Permission::parse("repositories", None).expect("a valid grant")];
    Ok(user_principal(user, permissions, actor, None))
}

impl Principal {
    /// The user of a browser session: a signed-in person may do on the pages whatever their
    /// account may (as with a password), and is audited with the request's origin.
    pub fn of_session(user: User, origin: &Origin) -> Principal {
        let permissions = vec![Permission::api(), Permission::parse("repositories", None).expect("a valid grant")];
        user_principal(user, permissions, origin.actor(None), None)
    }
}

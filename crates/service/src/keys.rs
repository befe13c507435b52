//! API keys: one way to make a key, whoever it is for (a user through the API or the admin
//! command, an organization through its admins), and the caller's own keys. The secret is shown
//! once, in the answer to the creation; only its HMAC is kept.

use hexyard_auth::{Domain, KeySecret, Permission};
use hexyard_core::{KeyName, Role};
use hexyard_storage::keys::{self, Key, NewKey, StoredPermission};
use hexyard_storage::orgs::Organization;
use hexyard_storage::{PgConnection, audit};
use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::{Error, Principal, Result, Services, authz};

/// Whose a key is.
#[derive(Debug, Clone, Copy)]
pub enum KeyOwner<'a> {
    User(i64),
    /// An organization's key, for CI with no user behind it.
    Organization(&'a Organization),
}

impl KeyOwner<'_> {
    fn storage(self) -> keys::Owner {
        match self {
            KeyOwner::User(id) => keys::Owner::User(id),
            KeyOwner::Organization(org) => keys::Owner::Organization(org.id),
        }
    }
}

/// A key as asked for, before validation: the name and the grants as sent, the revocation time
/// as ISO 8601 text.
#[derive(Debug, Clone, Default)]
pub struct KeyRequest {
    pub name: Option<String>,
    /// `(domain, resource)`; `None` takes the owner's default grant.
    pub permissions: Option<Vec<(String, Option<String>)>>,
    pub revoke_at: Option<String>,
}

/// A new key and its secret, shown only now.
#[derive(Debug)]
pub struct CreatedKey {
    pub key: Key,
    pub secret: String,
}

/// How many `NAME-N` variants are tried before a taken name is refused.
const NAME_ATTEMPTS: u32 = 1000;

/// Makes a key for `owner`, recorded in the audit log as `action` by `actor`. A name already
/// taken by a live key of the owner becomes the first free `NAME-2`, `NAME-3`, … as on hex.pm
/// (rebar3 and mix name keys after the host, so a second sign-in from one machine reuses one).
pub async fn create(
    services: &Services,
    owner: KeyOwner<'_>,
    request: &KeyRequest,
    actor: &audit::Actor,
) -> Result<CreatedKey> {
    let name =
        KeyName::parse(request.name.as_deref().unwrap_or_default()).map_err(|e| Error::field("name", e.to_string()))?;
    let permissions = permissions(owner, request.permissions.as_deref())?;
    let revoke_at = request.revoke_at.as_deref().filter(|t| !t.trim().is_empty()).map(revoke_time).transpose()?;
    let secret = KeySecret::generate();
    let hmac = secret.hmac(&services.secret);
    let mut tx = services.db.begin().await?;
    let new = NewKey {
        owner: owner.storage(),
        name: name.as_str(),
        secret_prefix: secret.prefix(),
        secret_hmac: &hmac,
        permissions: &permissions,
        revoke_at,
    };
    let key = insert_with_free_name(&mut tx, &new, &name).await?;
    let (action, params) = match owner {
        KeyOwner::User(_) => ("key.generate", json!({"name": key.name, "permissions": permissions})),
        KeyOwner::Organization(org) => (
            "organization.key.generate",
            json!({"organization": org.name, "name": key.name, "permissions": permissions}),
        ),
    };
    audit::record(&mut *tx, actor, action, params).await?;
    tx.commit().await?;
    Ok(CreatedKey { key, secret: secret.expose().to_owned() })
}

async fn insert_with_free_name(conn: &mut PgConnection, new: &NewKey<'_>, name: &KeyName) -> Result<Key> {
    if let Some(key) = keys::create(conn, new).await? {
        return Ok(key);
    }
    let taken = keys::live_names(&mut *conn, new.owner).await?;
    for n in 2..NAME_ATTEMPTS {
        let candidate = name.numbered(n);
        if taken.iter().any(|t| t == candidate.as_str()) {
            continue;
        }
        // a concurrent creation may take this one too: then try the next
        if let Some(key) = keys::create(conn, &NewKey { name: candidate.as_str(), ..*new }).await? {
            return Ok(key);
        }
    }
    Err(Error::field("name", "has already been taken"))
}

/// The grants of a new key. A user's key may hold any; an organization's only the API and its
/// own repository. Without any asked for: `api` for a user, `repository:ORG` for an
/// organization (fetching).
fn permissions(owner: KeyOwner<'_>, requested: Option<&[(String, Option<String>)]>) -> Result<Vec<StoredPermission>> {
    let default = match owner {
        KeyOwner::User(_) => vec![("api".to_owned(), None)],
        KeyOwner::Organization(org) => vec![("repository".to_owned(), Some(org.name.clone()))],
    };
    let requested = requested.unwrap_or(&default);
    if requested.is_empty() {
        return Err(Error::field("permissions", "can't be blank"));
    }
    requested
        .iter()
        .map(|(domain, resource)| {
            let p = Permission::parse(domain, resource.as_deref())
                .map_err(|e| Error::field("permissions", e.to_string()))?;
            if let KeyOwner::Organization(org) = owner {
                let allowed = match p.domain {
                    Domain::Api => true,
                    Domain::Repository => p.resource.as_deref() == Some(org.name.as_str()),
                    _ => false,
                };
                if !allowed {
                    return Err(Error::field("permissions", format!("an organization's key cannot hold {p}")));
                }
            }
            Ok(StoredPermission { domain: p.domain.as_str().to_owned(), resource: p.resource })
        })
        .collect()
}

/// The latest revocation time accepted: the last second that every layer (Postgres, the API's
/// timestamps, ETF) can carry.
const LATEST_YEAR: i32 = 9999;

/// A key's revocation time: RFC 3339, in the future, and no later than the year 9999 in UTC. An
/// offset may carry a date past that (`9999-12-31T23:59:59-23:59`): refused, never converted.
fn revoke_time(text: &str) -> Result<OffsetDateTime> {
    let at = OffsetDateTime::parse(text.trim(), &Rfc3339)
        .map_err(|_| Error::field("revoke_at", "is not an ISO 8601 time"))?;
    let utc = at
        .checked_to_offset(time::UtcOffset::UTC)
        .filter(|t| t.year() <= LATEST_YEAR)
        .ok_or_else(|| Error::field("revoke_at", "is too far in the future"))?;
    if utc <= OffsetDateTime::now_utc() {
        return Err(Error::field("revoke_at", "must be in the future"));
    }
    Ok(utc)
}

/// Whose keys the caller manages through `/api/keys`: their own, or their organization's.
fn caller_owner(principal: &Principal) -> Result<keys::Owner> {
    match (&principal.user, &principal.organization) {
        (Some(user), _) => Ok(keys::Owner::User(user.id)),
        (None, Some(org)) => Ok(keys::Owner::Organization(org.id)),
        (None, None) => Err(Error::not_authorized()),
    }
}

/// `POST /api/keys`: a key of the caller's user.
pub async fn create_own(services: &Services, principal: &Principal, request: &KeyRequest) -> Result<CreatedKey> {
    authz::require_write(services, principal).await?;
    create(services, KeyOwner::User(principal.user()?.id), request, &principal.actor).await
}

pub async fn list_own(services: &Services, principal: &Principal) -> Result<Vec<Key>> {
    principal.require_api_read()?;
    Ok(keys::list(&services.db, caller_owner(principal)?).await?)
}

pub async fn get_own(services: &Services, principal: &Principal, name: &KeyName) -> Result<Key> {
    principal.require_api_read()?;
    keys::get(&services.db, caller_owner(principal)?, name.as_str()).await?.ok_or(Error::NotFound)
}

/// Revokes one of the caller's keys; answers it as it was.
pub async fn revoke_own(services: &Services, principal: &Principal, name: &KeyName) -> Result<Key> {
    authz::require_write(services, principal).await?;
    let mut tx = services.db.begin().await?;
    let key = keys::revoke(&mut *tx, caller_owner(principal)?, name.as_str()).await?.ok_or(Error::NotFound)?;
    audit::record(&mut *tx, &principal.actor, "key.remove", json!({"name": key.name})).await?;
    tx.commit().await?;
    Ok(key)
}

/// Revokes every key of the caller's; answers the one that authenticated the request, if any.
pub async fn revoke_all_own(services: &Services, principal: &Principal) -> Result<Option<Key>> {
    authz::require_write(services, principal).await?;
    let owner = caller_owner(principal)?;
    let authing = match &principal.key_name {
        Some(name) => keys::get(&services.db, owner, name).await?,
        None => None,
    };
    let mut tx = services.db.begin().await?;
    let count = keys::revoke_all(&mut *tx, owner).await?;
    audit::record(&mut *tx, &principal.actor, "key.remove_all", json!({"count": count})).await?;
    tx.commit().await?;
    Ok(authing)
}

/// An organization's keys (admins).
pub async fn list_of_org(services: &Services, principal: &Principal, org: &str) -> Result<(Organization, Vec<Key>)> {
    principal.require_api_read()?;
    let (org, _) = authz::membership(services, principal, org, Role::Admin).await?;
    let all = keys::list(&services.db, keys::Owner::Organization(org.id)).await?;
    Ok((org, all))
}

/// A key of an organization (admins).
pub async fn create_for_org(
    services: &Services,
    principal: &Principal,
    org: &str,
    request: &KeyRequest,
) -> Result<(Organization, CreatedKey)> {
    authz::require_write(services, principal).await?;
    let (org, _) = authz::membership(services, principal, org, Role::Admin).await?;
    let created = create(services, KeyOwner::Organization(&org), request, &principal.actor).await?;
    Ok((org, created))
}

/// Revokes a key of an organization (admins).
pub async fn revoke_of_org(
    services: &Services,
    principal: &Principal,
    org: &str,
    name: &KeyName,
) -> Result<(Organization, Key)> {
    authz::require_write(services, principal).await?;
    let (org, _) = authz::membership(services, principal, org, Role::Admin).await?;
    let mut tx = services.db.begin().await?;
    let key = keys::revoke(&mut *tx, keys::Owner::Organization(org.id), name.as_str()).await?.ok_or(Error::NotFound)?;
    let params = json!({"organization": org.name, "name": key.name});
    audit::record(&mut *tx, &principal.actor, "organization.key.remove", params).await?;
    tx.commit().await?;
    Ok((org, key))
}

/// Revokes a key of a signed-in user from the account page.
pub async fn revoke_from_page(services: &Services, user_id: i64, name: &str, actor: &audit::Actor) -> Result<bool> {
    let mut tx = services.db.begin().await?;
    let revoked = keys::revoke(&mut *tx, keys::Owner::User(user_id), name).await?.is_some();
    if revoked {
        audit::record(&mut *tx, actor, "key.remove", json!({"name": name})).await?;
    }
    tx.commit().await?;
    Ok(revoked)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revocation_times_must_be_future_and_representable() {
        assert!(revoke_time("2999-01-01T00:00:00Z").is_ok());
        assert!(revoke_time("9999-12-31T23:59:59Z").is_ok());
        for bad in ["9999-12-31T23:59:59-23:59", "2000-01-01T00:00:00Z", "tomorrow", "10000-01-01T00:00:00Z"] {
            assert!(matches!(revoke_time(bad), Err(Error::Invalid(_))), "{bad}");
        }
        // an offset is converted to UTC
        assert_eq!(revoke_time("2999-01-01T02:00:00+02:00").unwrap().hour(), 0);
    }
}

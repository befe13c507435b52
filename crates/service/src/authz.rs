//! Authorization decisions, all in one place: what a caller's grants allow, who may read a
//! repository, which role in an organization an action needs, and who may publish a package.
//! To anyone who may not know that a private thing exists, it does not (404).

use std::sync::Arc;

use hexyard_auth::{Domain, Grants};
use hexyard_core::{OwnerLevel, Role};
use hexyard_storage::orgs::Organization;
use hexyard_storage::packages::Package;
use hexyard_storage::{orgs, owners};

use crate::{Error, Principal, RepositoryRegistry, Result, Services};

/// Who acts on a package: a caller, whose grants, ownership or role are checked, or the
/// operator through the admin command, who may act on any package and is audited as the admin.
#[derive(Debug, Clone, Copy)]
pub enum Acting<'a> {
    Caller(&'a Principal),
    Operator,
}

impl Acting<'_> {
    /// The audit actor.
    pub fn actor(&self) -> hexyard_storage::audit::Actor {
        match self {
            Acting::Caller(p) => p.actor.clone(),
            Acting::Operator => {
                hexyard_storage::audit::Actor { user_agent: Some("hexyard admin".into()), ..Default::default() }
            }
        }
    }

    /// Audit parameters, marked `"by": "admin"` when the operator acted.
    pub fn mark(&self, mut params: serde_json::Value) -> serde_json::Value {
        if matches!(self, Acting::Operator) {
            params["by"] = serde_json::json!("admin");
        }
        params
    }

    /// The repository a name means, for this actor: one the caller may read, or any.
    pub async fn repository(&self, services: &Services, name: Option<&str>) -> Result<Arc<RepositoryRegistry>> {
        match self {
            Acting::Caller(p) => readable_repository(services, name, Some(p)).await,
            Acting::Operator => services.repository(name).await?.ok_or(Error::NotFound),
        }
    }
}

impl Principal {
    pub fn require_api_read(&self) -> Result<()> {
        if self.permissions.allows_api_read() { Ok(()) } else { Err(Error::not_authorized()) }
    }

    pub fn require_api_write(&self) -> Result<()> {
        if self.permissions.allows_api_write() { Ok(()) } else { Err(Error::not_authorized()) }
    }

    /// Whether the grants could publish anything at all: API write, or a `package:` grant.
    pub fn may_upload(&self) -> bool {
        self.permissions.allows_api_write() || self.permissions.iter().any(|p| p.domain == Domain::Package)
    }
}

/// What a write needs: API write grants, and for an OAuth token a current TOTP code.
pub async fn require_write(services: &Services, principal: &Principal) -> Result<()> {
    principal.require_api_write()?;
    crate::tfa::require_write_code(services, principal, principal.otp.as_deref()).await
}

/// The caller, or the 401 that asks for credentials.
pub fn required(principal: Option<&Principal>) -> Result<&Principal> {
    principal.ok_or(Error::MissingCredentials)
}

/// A role as stored.
pub(crate) fn role(stored: &str) -> Result<Role> {
    stored.parse().map_err(|_| Error::internal("reading a member's role", format!("unknown role {stored:?}")))
}

/// An owner level as stored.
pub(crate) fn level(stored: &str) -> Result<OwnerLevel> {
    stored.parse().map_err(|_| Error::internal("reading an owner's level", format!("unknown level {stored:?}")))
}

/// Whether the caller may read a repository: anyone the public one; an organization's, a member
/// whose grants reach it (`repository:NAME`, `repositories` or API access), or the
/// organization's own key.
pub async fn may_read(services: &Services, repo: &RepositoryRegistry, principal: Option<&Principal>) -> Result<bool> {
    if repo.public {
        return Ok(true);
    }
    let Some(p) = principal else { return Ok(false) };
    if !(p.permissions.allows_repository(&repo.name) || p.permissions.allows_api_read()) {
        return Ok(false);
    }
    let Some(org) = orgs::get(&services.db, &repo.name).await? else { return Ok(false) };
    match (&p.user, &p.organization) {
        (Some(user), _) => Ok(orgs::role(&services.db, org.id, user.id).await?.is_some()),
        // an organization's key reaches its own repository only
        (None, Some(own)) => Ok(own.id == org.id),
        (None, None) => Ok(false),
    }
}

/// Who reads a page: nobody signed in, a user signed in with a browser session, or a caller
/// with an `Authorization` header.
#[derive(Debug, Clone, Copy)]
pub enum Reader<'a> {
    Anonymous,
    Session(&'a hexyard_storage::users::User),
    Caller(&'a Principal),
}

/// Whether a reader may read a repository: a signed-in user is a member of any role; a caller
/// as [`may_read`] says.
pub async fn reader_may_read(services: &Services, repo: &RepositoryRegistry, reader: Reader<'_>) -> Result<bool> {
    match reader {
        _ if repo.public => Ok(true),
        Reader::Anonymous => Ok(false),
        Reader::Caller(p) => may_read(services, repo, Some(p)).await,
        Reader::Session(user) => {
            let Some(org) = orgs::get(&services.db, &repo.name).await? else { return Ok(false) };
            Ok(orgs::role(&services.db, org.id, user.id).await?.is_some())
        }
    }
}

/// The repository a name means (`None`: the public one), if the caller may read it; anyone
/// else gets the 404 of a repository that does not exist.
pub async fn readable_repository(
    services: &Services,
    name: Option<&str>,
    principal: Option<&Principal>,
) -> Result<Arc<RepositoryRegistry>> {
    let repo = services.repository(name).await?.ok_or(Error::NotFound)?;
    if may_read(services, &repo, principal).await? { Ok(repo) } else { Err(Error::NotFound) }
}

/// The organization and the caller's role in it, when the caller is a user who is a member
/// with at least `least`. Outsiders get a 404 that tells nothing; members with too small a
/// role a plain 403.
pub async fn membership(
    services: &Services,
    principal: &Principal,
    name: &str,
    least: Role,
) -> Result<(Organization, Role)> {
    let org = orgs::get(&services.db, name).await?.ok_or(Error::NotFound)?;
    let stored = orgs::role(&services.db, org.id, principal.user()?.id).await?.ok_or(Error::NotFound)?;
    let role = role(&stored)?;
    if role < least {
        return Err(Error::account_not_authorized());
    }
    Ok((org, role))
}

/// Whether the caller may publish `name` into `repo` (and manage it), given the package as it
/// exists (`None`: a new package). Grants first (`api` write or `package:NAME`), then a
/// confirmed email; in an organization's repository, the write role (its own keys have it);
/// in the public repository, ownership of an existing package.
pub async fn may_publish(
    services: &Services,
    principal: &Principal,
    repo: &RepositoryRegistry,
    name: &str,
    existing: Option<&Package>,
) -> Result<()> {
    if !principal.permissions.allows_package(&repo.name, &services.public().name, name) {
        return Err(Error::not_authorized());
    }
    if principal.user.as_ref().is_some_and(|u| !u.email_verified) {
        return Err(Error::Forbidden("email not verified".into()));
    }
    // an organization's key publishes into its own repository only
    if principal.organization.as_ref().is_some_and(|org| org.repository_id != repo.id) {
        return Err(Error::NotFound);
    }
    if !repo.public {
        // an organization's packages follow its roles, not owners
        let org = orgs::get(&services.db, &repo.name).await?.ok_or(Error::NotFound)?;
        let role = match &principal.user {
            Some(user) => match orgs::role(&services.db, org.id, user.id).await? {
                Some(stored) => role(&stored)?,
                None => return Err(Error::NotFound),
            },
            None => Role::Write,
        };
        return if role >= Role::Write { Ok(()) } else { Err(Error::account_not_authorized()) };
    }
    if let Some(package) = existing {
        owner_level(services, package, principal).await?.ok_or_else(Error::account_not_authorized)?;
    }
    Ok(())
}

/// The level at which the caller owns a package, if they do: as a user, through an
/// organization that owns it (admin: full, write: maintainer), or as that organization's key
/// (full, when it may write).
pub async fn owner_level(services: &Services, package: &Package, principal: &Principal) -> Result<Option<OwnerLevel>> {
    let mut levels = Vec::new();
    match (&principal.user, &principal.organization) {
        (Some(user), _) => {
            if let Some(stored) = owners::level(&services.db, package.id, user.id).await? {
                levels.push(level(&stored)?);
            }
            for stored in owners::roles_through_organizations(&services.db, package.id, user.id).await? {
                match role(&stored)? {
                    Role::Admin => levels.push(OwnerLevel::Full),
                    Role::Write => levels.push(OwnerLevel::Maintainer),
                    Role::Read => {}
                }
            }
        }
        (None, Some(org)) => {
            if owners::holder_level(&services.db, package.id, owners::Holder::Organization(org.id)).await?.is_some() {
                levels.push(OwnerLevel::Full);
            }
        }
        (None, None) => return Err(Error::not_authorized()),
    }
    Ok(levels.into_iter().max())
}

/// The repositories the caller may read: the public one, then their organizations'.
pub async fn readable_repositories(
    services: &Services,
    principal: Option<&Principal>,
) -> Result<Vec<Arc<RepositoryRegistry>>> {
    let mut all = vec![services.public().clone()];
    let Some(p) = principal else { return Ok(all) };
    let orgs = match (&p.user, &p.organization) {
        (Some(user), _) => orgs::of_user(&services.db, user.id).await?.into_iter().map(|(o, _)| o).collect(),
        (None, Some(org)) => vec![org.clone()],
        (None, None) => Vec::new(),
    };
    for org in orgs {
        if let Some(repo) = services.repository(Some(&org.name)).await?
            && may_read(services, &repo, Some(p)).await?
        {
            all.push(repo);
        }
    }
    Ok(all)
}

/// What `GET /api/auth?domain=&resource=` asks: do the caller's grants allow this?
pub async fn allows(services: &Services, principal: &Principal, domain: &str, resource: Option<&str>) -> Result<bool> {
    let wanted = hexyard_auth::Permission::parse(domain, resource).map_err(|e| Error::BadRequest(e.to_string()))?;
    let grants = &principal.permissions[..];
    Ok(match wanted.domain {
        Domain::Api if wanted.resource.as_deref() == Some("read") => grants.allows_api_read(),
        Domain::Api => grants.allows_api_write(),
        Domain::Repositories => grants.iter().any(|p| p.domain == Domain::Repositories),
        Domain::Repository => {
            let name = wanted.resource.as_deref().unwrap_or_default();
            match services.repository(Some(name)).await? {
                Some(repo) if repo.public => grants.allows_repository(name) || grants.allows_api_read(),
                Some(repo) => may_read(services, &repo, Some(principal)).await?,
                None => false,
            }
        }
        Domain::Package => {
            let public = &services.public().name;
            grants.allows_package(public, public, wanted.resource.as_deref().unwrap_or_default())
        }
    })
}

/// Whether a caller may read the mirror: anyone, unless `HEXYARD_MIRROR_AUTH=required`; then
/// a key granting `repositories` or `repository:<upstream's name>` (`repository:hexpm`).
pub fn may_read_mirror(settings: &crate::mirror::MirrorSettings, principal: Option<&Principal>) -> bool {
    !settings.auth_required || principal.is_some_and(|p| p.permissions.allows_repository(&settings.repository))
}

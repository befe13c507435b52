//! The owners of a public package: full owners manage owners, maintainers publish, retire and
//! revert. A transfer leaves the new owner alone with the package. Packages of an organization
//! have no owners: the organization's roles govern them. An organization may own a public
//! package (after a transfer): its admins act as full owners, its writers as maintainers. The
//! users added or removed are told by mail.

use std::sync::Arc;

use hexyard_core::{OwnerLevel, PackageName, UserRef};
use hexyard_storage::audit;
use hexyard_storage::orgs::{self, Organization};
use hexyard_storage::owners::{self, Holder, Owner};
use hexyard_storage::packages::{self, Package};
use hexyard_storage::users::{self, User};
use serde_json::json;

use crate::authz::Acting;
use crate::{Error, Principal, RepositoryRegistry, Result, Services, authz, tfa};

async fn package_of(
    services: &Services,
    repository: Option<&str>,
    principal: &Principal,
    name: &PackageName,
) -> Result<(Arc<RepositoryRegistry>, Package)> {
    let repo = authz::readable_repository(services, repository, Some(principal)).await?;
    let package = packages::get(&services.db, repo.id, name.as_str()).await?.ok_or(Error::NotFound)?;
    Ok((repo, package))
}

/// The owners (with `api:read`), and the repository; none for an organization's package.
pub async fn list(
    services: &Services,
    repository: Option<&str>,
    principal: &Principal,
    name: &PackageName,
) -> Result<(Arc<RepositoryRegistry>, Vec<Owner>)> {
    principal.require_api_read()?;
    let (repo, package) = package_of(services, repository, principal, name).await?;
    Ok((repo, owners::of_package(&services.db, package.id).await?))
}

fn is(owner: &Owner, who: &UserRef) -> bool {
    match who {
        UserRef::Username(u) => owner.username.eq_ignore_ascii_case(u.as_str()),
        UserRef::Email(e) => owner.email.as_deref().is_some_and(|m| m.eq_ignore_ascii_case(e.as_str())),
    }
}

/// One owner.
pub async fn get(
    services: &Services,
    repository: Option<&str>,
    principal: &Principal,
    name: &PackageName,
    who: &UserRef,
) -> Result<Owner> {
    let (_, all) = list(services, repository, principal, name).await?;
    all.into_iter().find(|o| is(o, who)).ok_or(Error::NotFound)
}

/// A package whose owners may be managed: a public one, which the caller owns fully, with
/// grants that reach it and, for an OAuth token, a current TOTP code (the operator: any).
async fn managed(
    services: &Services,
    repository: Option<&str>,
    acting: Acting<'_>,
    name: &PackageName,
) -> Result<(Arc<RepositoryRegistry>, Package)> {
    let repo = acting.repository(services, repository).await?;
    let package = packages::get(&services.db, repo.id, name.as_str()).await?.ok_or(Error::NotFound)?;
    if !repo.public {
        return Err(Error::field("name", "packages of an organization have no owners: its roles govern them"));
    }
    if let Acting::Caller(principal) = acting {
        authz::may_publish(services, principal, &repo, name.as_str(), Some(&package)).await?;
        tfa::require_write_code(services, principal, principal.otp.as_deref()).await?;
        if authz::owner_level(services, &package, principal).await? != Some(OwnerLevel::Full) {
            return Err(Error::account_not_authorized());
        }
    }
    Ok((repo, package))
}

/// Who a name in an owner path means: a user (by username or email) or, when no user has the
/// name, an organization (a package may be transferred to one).
enum Target {
    User(User),
    Organization(Organization),
}

impl Target {
    fn holder(&self) -> Holder {
        match self {
            Target::User(u) => Holder::User(u.id),
            Target::Organization(o) => Holder::Organization(o.id),
        }
    }

    fn name(&self) -> &str {
        match self {
            Target::User(u) => &u.username,
            Target::Organization(o) => &o.name,
        }
    }
}

async fn target(services: &Services, who: &UserRef) -> Result<Target> {
    if let Some(user) = users::by_name_or_email(&services.db, who.as_str()).await? {
        return Ok(Target::User(user));
    }
    match who {
        UserRef::Username(name) => match orgs::get(&services.db, name.as_str()).await? {
            Some(org) => Ok(Target::Organization(org)),
            None => Err(Error::NotFound),
        },
        UserRef::Email(_) => Err(Error::NotFound),
    }
}

/// `PUT …/owners/USER` with `{level, transfer}`: adds an owner or changes their level (full by
/// default); with `transfer`, the user (or organization) becomes the package's only full owner.
pub async fn set(
    services: &Services,
    repository: Option<&str>,
    acting: Acting<'_>,
    name: &PackageName,
    who: &UserRef,
    level: Option<&str>,
    transfer: bool,
) -> Result<()> {
    let level = match level {
        None => OwnerLevel::Full,
        Some(l) => l.parse().map_err(|e: hexyard_core::OwnerLevelError| Error::field("level", e.to_string()))?,
    };
    let (repo, package) = managed(services, repository, acting, name).await?;
    let target = target(services, who).await?;
    let holder = target.holder();
    let level = if transfer { OwnerLevel::Full } else { level };
    let mut tx = services.db.begin().await?;
    owners::lock_package(&mut tx, package.id).await?;
    let before = owners::holder_level(&mut *tx, package.id, holder).await?;
    let demoting_last = before.as_deref() == Some("full")
        && level != OwnerLevel::Full
        && owners::full_owners(&mut *tx, package.id).await? <= 1;
    if demoting_last {
        return Err(Error::field("level", "cannot demote the last full owner"));
    }
    owners::add_holder(&mut *tx, package.id, holder, level.as_str()).await?;
    let action = if transfer {
        owners::remove_all_but(&mut *tx, package.id, holder).await?;
        "owner.transfer"
    } else if before.is_some() {
        "owner.update"
    } else {
        "owner.add"
    };
    let params =
        json!({"package": package.name, "repository": repo.name, "user": target.name(), "level": level.as_str()});
    audit::record(&mut *tx, &acting.actor(), action, acting.mark(params)).await?;
    tx.commit().await?;
    if let (Target::User(user), true) = (&target, before.is_none() || transfer) {
        let what = if transfer { "now the only owner" } else { "now an owner" };
        tell(services, user, &package, &format!("You are {what} ({}) of {}", level.as_str(), package.name)).await;
    }
    Ok(())
}

/// `DELETE …/owners/USER`: removes an owner, never the last full one.
pub async fn remove(
    services: &Services,
    repository: Option<&str>,
    acting: Acting<'_>,
    name: &PackageName,
    who: &UserRef,
) -> Result<()> {
    let (repo, package) = managed(services, repository, acting, name).await?;
    let target = target(services, who).await?;
    let mut tx = services.db.begin().await?;
    owners::lock_package(&mut tx, package.id).await?;
    let level = owners::holder_level(&mut *tx, package.id, target.holder()).await?.ok_or(Error::NotFound)?;
    if level == "full" && owners::full_owners(&mut *tx, package.id).await? <= 1 {
        return Err(Error::field("owner", "cannot remove the last full owner"));
    }
    owners::remove(&mut *tx, package.id, target.holder()).await?;
    let params = json!({"package": package.name, "repository": repo.name, "user": target.name()});
    audit::record(&mut *tx, &acting.actor(), "owner.remove", acting.mark(params)).await?;
    tx.commit().await?;
    if let Target::User(user) = &target {
        tell(services, user, &package, &format!("You are no longer an owner of {}", package.name)).await;
    }
    Ok(())
}

/// Mails a user about their ownership; a mail that cannot be sent is logged, the change stands.
async fn tell(services: &Services, user: &User, package: &Package, subject: &str) {
    let Some(email) = &user.email else { return };
    let body = format!(
        "Hello {},\n\n{subject} on {}.\n\n{}/packages/{}\n",
        user.username, services.settings.public_url, services.settings.public_url, package.name
    );
    if let Err(e) = services.mailer.send(email, subject, body).await {
        tracing::error!(error = %e, "an ownership mail could not be sent");
    }
}

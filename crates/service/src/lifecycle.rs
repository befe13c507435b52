//! After the first publish: reverting a release and retiring or unretiring one. Whoever may
//! publish a package may do these (owners of a public package at any level, an organization's
//! writers and its keys, a `package:NAME` key for its package), with the TOTP code an OAuth
//! token needs for writes; the operator (the admin command) may do them to any package.

use std::sync::Arc;

use hexyard_core::{PackageName, RetirementReason, Version};
use hexyard_storage::audit;
use hexyard_storage::packages::{self, Package};
use hexyard_storage::releases::{self, Release};
use serde_json::json;

use crate::authz::Acting;
use crate::publish::{remove_unused_blob, within_window};
use crate::{Error, RepositoryRegistry, Result, Services, authz, tfa};

/// The longest retirement message, and the shortest.
const MAX_MESSAGE_CHARS: usize = 140;
const MIN_MESSAGE_CHARS: usize = 3;

/// A release the caller may manage (whoever may publish its package), with its package and
/// repository.
pub(crate) struct Managed {
    pub(crate) repo: Arc<RepositoryRegistry>,
    pub(crate) package: Package,
    pub(crate) release: Release,
}

pub(crate) async fn managed(
    services: &Services,
    repository: Option<&str>,
    acting: Acting<'_>,
    name: &PackageName,
    version: &Version,
) -> Result<Managed> {
    let repo = acting.repository(services, repository).await?;
    let package = packages::get(&services.db, repo.id, name.as_str()).await?.ok_or(Error::NotFound)?;
    if let Acting::Caller(principal) = acting {
        authz::may_publish(services, principal, &repo, name.as_str(), Some(&package)).await?;
        tfa::require_write_code(services, principal, principal.otp.as_deref()).await?;
    }
    let release = releases::get(&services.db, package.id, &version.to_string()).await?.ok_or(Error::NotFound)?;
    Ok(Managed { repo, package, release })
}

/// The audit parameters of an action on a release.
pub(crate) fn params(m: &Managed, acting: Acting<'_>) -> serde_json::Value {
    let mut params = json!({"package": m.package.name, "version": m.release.version, "repository": m.repo.name});
    if !m.repo.public {
        // an organization's audit log lists what happens in its repository
        params["organization"] = json!(m.repo.name);
    }
    acting.mark(params)
}

/// `DELETE /api/packages/NAME/releases/VERSION`: removes a release, its requirements and (once
/// nothing names it) its tarball; the last release takes the package with it. On the public
/// repository a caller may revert only within an hour of publishing (or a day of the package's
/// creation); the operator any time.
pub async fn revert(
    services: &Services,
    repository: Option<&str>,
    acting: Acting<'_>,
    name: &PackageName,
    version: &Version,
) -> Result<()> {
    let m = managed(services, repository, acting, name, version).await?;
    // the operator's escape hatch: no window
    let caller = matches!(acting, Acting::Caller(_));
    if caller && m.repo.public && !within_window(m.release.inserted_at, m.package.inserted_at) {
        return Err(Error::field("inserted_at", "can only delete a release up to one hour after publication"));
    }
    let mut tx = services.db.begin().await?;
    // concurrent reverts of a package's last releases must see each other
    packages::lock(&mut tx, m.package.id).await?;
    let (id, checksum, _) =
        releases::get_for_update(&mut tx, m.package.id, &m.release.version).await?.ok_or(Error::NotFound)?;
    let last = releases::count_of_package(&mut *tx, m.package.id).await? == 1;
    if last && releases::has_dependants(&mut *tx, &m.repo.name, m.package.id, &m.package.name).await? {
        return Err(Error::field("name", "you cannot delete this package because other packages depend on it"));
    }
    releases::delete(&mut *tx, id).await?;
    if last {
        packages::delete(&mut *tx, m.package.id).await?;
    } else {
        crate::packages::refresh_depends(&mut tx, m.package.id).await?;
    }
    audit::record(&mut *tx, &acting.actor(), "release.revert", params(&m, acting)).await?;
    tx.commit().await?;
    // the registry stops naming the release first, then the tarball goes
    m.repo.rebuild_package(&services.db, &m.package.name).await?;
    services.refresh_index(&m.repo).await?;
    remove_unused_blob(services, &checksum).await;
    if m.release.has_docs {
        crate::docs::forget(services, &m.repo, &m.package.name, &m.release.version).await;
    }
    tracing::info!(package.name = m.package.name, version = m.release.version, "reverted");
    Ok(())
}

/// `POST …/releases/VERSION/retire` (`Some`) and `DELETE …/retire` (`None`): no time limit; the
/// signed package resource carries the retirement at once.
pub async fn set_retirement(
    services: &Services,
    repository: Option<&str>,
    acting: Acting<'_>,
    name: &PackageName,
    version: &Version,
    retirement: Option<(Option<&str>, Option<&str>)>,
) -> Result<()> {
    let checked = retirement.map(|(reason, message)| check_retirement(reason, message)).transpose()?;
    let m = managed(services, repository, acting, name, version).await?;
    let stored = checked.as_ref().map(|(reason, message)| (reason.as_str(), message.as_deref()));
    releases::set_retirement(&services.db, m.release.id, stored).await?;
    let mut params = params(&m, acting);
    let action = match &checked {
        Some((reason, message)) => {
            params["reason"] = json!(reason.as_str());
            params["message"] = json!(message);
            "release.retire"
        }
        None => "release.unretire",
    };
    audit::record(&services.db, &acting.actor(), action, params).await?;
    m.repo.rebuild_package(&services.db, &m.package.name).await?;
    services.refresh_index(&m.repo).await?;
    Ok(())
}

/// A reason of hex.pm's five, and a message of 3 to 140 characters (or none).
fn check_retirement(reason: Option<&str>, message: Option<&str>) -> Result<(RetirementReason, Option<String>)> {
    let reason = reason
        .unwrap_or_default()
        .parse::<RetirementReason>()
        .map_err(|_| Error::field("reason", "is invalid: must be other, invalid, security, deprecated or renamed"))?;
    let message = message.map(str::trim).filter(|m| !m.is_empty());
    if let Some(m) = message {
        let chars = m.chars().count();
        if chars > MAX_MESSAGE_CHARS {
            return Err(Error::field("message", format!("should be at most {MAX_MESSAGE_CHARS} character(s)")));
        }
        if chars < MIN_MESSAGE_CHARS {
            return Err(Error::field("message", format!("should be at least {MIN_MESSAGE_CHARS} character(s)")));
        }
    }
    Ok((reason, message.map(str::to_owned)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retirements_need_a_known_reason_and_a_short_message() {
        assert!(check_retirement(Some("security"), Some("CVE-2026-1")).is_ok());
        assert!(check_retirement(Some("renamed"), None).is_ok());
        for (reason, message) in [(Some("bad"), None), (None, None), (Some("other"), Some("no"))] {
            assert!(matches!(check_retirement(reason, message), Err(Error::Invalid(_))), "{reason:?} {message:?}");
        }
        let long = "x".repeat(141);
        assert!(
            matches!(check_retirement(Some("other"), Some(&long)), Err(Error::Invalid(f)) if f.contains_key("message"))
        );
        assert!(check_retirement(Some("other"), Some(&"é".repeat(140))).is_ok(), "characters, not bytes");
    }
}

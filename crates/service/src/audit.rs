//! Reading audit logs: the caller's own, a package's, an organization's.

use hexyard_core::{PackageName, Role};
use hexyard_storage::audit::{self, Entry};

use crate::{Error, Principal, Result, Services, authz};

/// Entries per page.
pub const PER_PAGE: u32 = 100;

/// The caller's own actions, newest first.
pub async fn of_caller(services: &Services, principal: &Principal, page: u32) -> Result<Vec<Entry>> {
    principal.require_api_read()?;
    Ok(audit::of_user(&services.db, principal.user()?.id, page, PER_PAGE).await?)
}

/// The actions on a package of a repository the caller may read.
pub async fn of_package(
    services: &Services,
    principal: &Principal,
    repository: Option<&str>,
    name: &PackageName,
    page: u32,
) -> Result<Vec<Entry>> {
    principal.require_api_read()?;
    let repo = authz::readable_repository(services, repository, Some(principal)).await?;
    if hexyard_storage::packages::get(&services.db, repo.id, name.as_str()).await?.is_none() {
        return Err(Error::NotFound);
    }
    Ok(audit::of_package(&services.db, &repo.name, name.as_str(), page, PER_PAGE).await?)
}

/// The actions on an organization (members).
pub async fn of_organization(services: &Services, principal: &Principal, name: &str, page: u32) -> Result<Vec<Entry>> {
    principal.require_api_read()?;
    let (org, _) = authz::membership(services, principal, name, Role::Read).await?;
    Ok(audit::of_organization(&services.db, &org.name, page, PER_PAGE).await?)
}

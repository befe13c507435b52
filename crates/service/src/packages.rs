//! Reading packages and releases of a repository the caller may read.

use std::sync::Arc;

use hexyard_core::{PackageName, Version};
use hexyard_storage::owners::{self, Owner};
use hexyard_storage::packages::{self, Package, Sort};
use hexyard_storage::releases::{self, Release, Requirement};

use crate::{Error, Principal, RepositoryRegistry, Result, Services, authz};

/// Packages per page of a listing.
pub const PER_PAGE: u32 = 100;

/// A listing as asked for.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub search: Option<String>,
    pub sort: Option<String>,
    pub page: Option<String>,
}

/// A page number as sent: 1 when absent, 1 to 100,000 otherwise.
pub fn page(raw: Option<&str>) -> Result<u32> {
    match raw {
        None => Ok(1),
        Some(p) => p
            .parse::<u32>()
            .ok()
            .filter(|p| (1..=100_000).contains(p))
            .ok_or_else(|| Error::field("page", "is invalid")),
    }
}

/// A page of a repository's packages, each with its releases.
pub async fn list(
    services: &Services,
    repository: Option<&str>,
    principal: Option<&Principal>,
    query: &ListQuery,
) -> Result<(Arc<RepositoryRegistry>, Vec<(Package, Vec<Release>)>)> {
    let repo = authz::readable_repository(services, repository, principal).await?;
    let sort = match query.sort.as_deref().unwrap_or("name") {
        "name" => Sort::Name,
        "inserted_at" => Sort::InsertedAt,
        "updated_at" => Sort::UpdatedAt,
        "recent_downloads" | "total_downloads" | "downloads" => Sort::Downloads,
        other => return Err(Error::field("sort", format!("invalid sort {other:?}"))),
    };
    let page = page(query.page.as_deref())?;
    let search = query.search.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let found = packages::list(&services.db, &[repo.id], search, sort, page, PER_PAGE).await?;
    let ids: Vec<i64> = found.iter().map(|p| p.id).collect();
    let mut all_releases = releases::of_packages(&services.db, &ids).await?;
    let listed = found
        .into_iter()
        .map(|p| {
            let own = all_releases.extract_if(.., |r| r.package_id == p.id).collect();
            (p, own)
        })
        .collect();
    Ok((repo, listed))
}

/// A package with its releases and owners.
#[derive(Debug)]
pub struct PackageView {
    pub repo: Arc<RepositoryRegistry>,
    pub package: Package,
    pub releases: Vec<Release>,
    pub owners: Vec<Owner>,
}

/// A package that has at least one release.
pub async fn get(
    services: &Services,
    repository: Option<&str>,
    principal: Option<&Principal>,
    name: &PackageName,
) -> Result<PackageView> {
    let repo = authz::readable_repository(services, repository, principal).await?;
    let package = packages::get(&services.db, repo.id, name.as_str()).await?.ok_or(Error::NotFound)?;
    let releases = releases::of_package(&services.db, package.id).await?;
    if releases.is_empty() {
        return Err(Error::NotFound);
    }
    let owners = owners::of_package(&services.db, package.id).await?;
    Ok(PackageView { repo, package, releases, owners })
}

/// A release with the requirements of its package's releases.
#[derive(Debug)]
pub struct ReleaseView {
    pub repo: Arc<RepositoryRegistry>,
    pub package: Package,
    pub release: Release,
    pub requirements: Vec<Requirement>,
}

pub async fn release(
    services: &Services,
    repository: Option<&str>,
    principal: Option<&Principal>,
    name: &PackageName,
    version: &Version,
) -> Result<ReleaseView> {
    let repo = authz::readable_repository(services, repository, principal).await?;
    let package = packages::get(&services.db, repo.id, name.as_str()).await?.ok_or(Error::NotFound)?;
    let release = releases::get(&services.db, package.id, &version.to_string()).await?.ok_or(Error::NotFound)?;
    let requirements = releases::requirements_of_package(&services.db, package.id).await?;
    Ok(ReleaseView { repo, package, release, requirements })
}

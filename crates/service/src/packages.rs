//! Reading packages and releases of a repository the caller may read.

use std::collections::HashMap;
use std::sync::Arc;

use hexyard_core::{PackageName, Version};
use hexyard_storage::downloads::{self, PackageDownloads};
use hexyard_storage::owners::{self, Owner};
use hexyard_storage::packages::{self, Listing, Package, Sort};
use hexyard_storage::releases::{self, Release, Requirement};

use crate::{Error, Principal, RepositoryRegistry, Result, Services, authz, search};

/// Packages per page of a listing.
pub const PER_PAGE: u32 = 100;

/// A listing as asked for.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub search: Option<String>,
    pub sort: Option<String>,
    pub page: Option<String>,
    pub per_page: Option<String>,
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

/// Packages per page as sent: [`PER_PAGE`] when absent; more is [`PER_PAGE`], as on hex.pm.
pub fn per_page(raw: Option<&str>) -> Result<u32> {
    match raw {
        None => Ok(PER_PAGE),
        Some(n) => n
            .parse::<u64>()
            .map(|n| n.min(u64::from(PER_PAGE)) as u32)
            .map_err(|_| Error::field("per_page", "is invalid")),
    }
}

/// A listed package, with its repository, releases and downloads.
#[derive(Debug)]
pub struct Listed {
    pub repo: Arc<RepositoryRegistry>,
    pub package: Package,
    pub releases: Vec<Release>,
    pub downloads: PackageDownloads,
}

/// A page of packages: of one repository the caller may read (`repository`), or of every one
/// (the public repository and the caller's organizations'). A search orders by relevance
/// unless a sort is asked for; a search for a package's exact name lists it first.
pub async fn list(
    services: &Services,
    repository: Option<&str>,
    principal: Option<&Principal>,
    query: &ListQuery,
) -> Result<Vec<Listed>> {
    let repos = match repository {
        Some(_) => vec![authz::readable_repository(services, repository, principal).await?],
        None => authz::readable_repositories(services, principal).await?,
    };
    let search = query.search.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(search::parse).transpose()?;
    let default = if search.is_some() { "relevance" } else { "name" };
    let sort = match query.sort.as_deref().unwrap_or(default) {
        "name" => Sort::Name,
        "inserted_at" => Sort::InsertedAt,
        "updated_at" => Sort::UpdatedAt,
        // mix sends `downloads`
        "total_downloads" | "downloads" => Sort::TotalDownloads,
        "recent_downloads" => Sort::RecentDownloads,
        "relevance" => Sort::Relevance,
        other => return Err(Error::field("sort", format!("invalid sort {other:?}"))),
    };
    let page = page(query.page.as_deref())?;
    let per_page = per_page(query.per_page.as_deref())?;
    if per_page == 0 {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = repos.iter().map(|r| r.id).collect();
    let listing = Listing { repository_ids: &ids, search: search.as_ref(), sort, page, per_page };
    let found = packages::list(&services.db, &listing).await?;
    let ids: Vec<i64> = found.iter().map(|p| p.id).collect();
    let mut all_releases = releases::of_packages(&services.db, &ids).await?;
    let counted: HashMap<i64, PackageDownloads> =
        downloads::of_packages(&services.db, &ids).await?.into_iter().collect();
    Ok(found
        .into_iter()
        .filter_map(|package| {
            let repo = repos.iter().find(|r| r.id == package.repository_id)?.clone();
            let releases = all_releases.extract_if(.., |r| r.package_id == package.id).collect();
            let downloads = counted.get(&package.id).copied().unwrap_or_default();
            Some(Listed { repo, package, releases, downloads })
        })
        .collect())
}

/// A package with its releases and owners.
#[derive(Debug)]
pub struct PackageView {
    pub repo: Arc<RepositoryRegistry>,
    pub package: Package,
    pub releases: Vec<Release>,
    pub owners: Vec<Owner>,
    pub downloads: PackageDownloads,
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
    let downloads = downloads::of_packages(&services.db, &[package.id]).await?.first().map(|d| d.1).unwrap_or_default();
    Ok(PackageView { repo, package, releases, owners, downloads })
}

/// A release with the requirements of its package's releases.
#[derive(Debug)]
pub struct ReleaseView {
    pub repo: Arc<RepositoryRegistry>,
    pub package: Package,
    pub release: Release,
    pub requirements: Vec<Requirement>,
    /// All the release's downloads.
    pub downloads: i64,
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
    let downloads = downloads::of_releases(&services.db, &[release.id]).await?.first().map_or(0, |d| d.1);
    Ok(ReleaseView { repo, package, release, requirements, downloads })
}

/// Records the dependencies of a package's latest release (the highest stable version, else the
/// highest pre-release) for `depends:` searches: `NAME` and `REPOSITORY:NAME` each.
pub(crate) async fn refresh_depends(conn: &mut hexyard_storage::PgConnection, package_id: i64) -> Result<()> {
    let all = releases::of_package(&mut *conn, package_id).await?;
    let versions: Vec<(Version, i64)> =
        all.iter().filter_map(|r| Some((Version::parse(&r.version).ok()?, r.id))).collect();
    let latest = Version::latest(versions.iter().map(|(v, id)| (v, *id)));
    let mut depends: Vec<String> = match latest {
        Some(id) => releases::requirements_of_package(&mut *conn, package_id)
            .await?
            .into_iter()
            .filter(|q| q.release_id == id)
            .flat_map(|q| [format!("{}:{}", q.dependency_repository, q.dependency_name), q.dependency_name])
            .collect(),
        None => Vec::new(),
    };
    depends.sort();
    depends.dedup();
    packages::set_depends(&mut *conn, package_id, &depends).await?;
    Ok(())
}

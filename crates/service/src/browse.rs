//! What the web pages read beyond the API's use cases: the home page's totals and lists, a
//! search with its result count, and a package's page (one release shown, its dependencies,
//! the daily downloads, and the audit log for its owners).

use hexyard_core::{PackageName, Version};
use hexyard_storage::audit::Entry;
use hexyard_storage::packages::{self, Listing, Totals};
use hexyard_storage::releases::{self, Release, Requirement};
use hexyard_storage::{downloads, orgs};

use crate::packages::{ListQuery, Listed, PackageView};
use crate::{Error, Principal, Result, Services, authz, search};

/// How many packages each list of the home page shows.
pub const HOME_LIST: u32 = 8;
/// The days the downloads chart covers.
pub const CHART_DAYS: i32 = 90;

/// The home page: totals of the repositories the reader may read, the packages updated last
/// and the most downloaded ones.
#[derive(Debug)]
pub struct Overview {
    pub totals: Totals,
    pub recent: Vec<Listed>,
    pub popular: Vec<Listed>,
}

pub async fn overview(services: &Services, principal: Option<&Principal>) -> Result<Overview> {
    let repos = authz::readable_repositories(services, principal).await?;
    let ids: Vec<i64> = repos.iter().map(|r| r.id).collect();
    let totals = packages::totals(&services.db, &ids).await?;
    let list = |sort: &str| ListQuery {
        sort: Some(sort.to_owned()),
        per_page: Some(HOME_LIST.to_string()),
        ..ListQuery::default()
    };
    let recent = crate::packages::list(services, None, principal, &list("updated_at")).await?;
    let mut popular = crate::packages::list(services, None, principal, &list("total_downloads")).await?;
    popular.retain(|p| p.downloads.all > 0);
    Ok(Overview { totals, recent, popular })
}

/// How many packages a listing finds on all its pages.
pub async fn count(
    services: &Services,
    repository: Option<&str>,
    principal: Option<&Principal>,
    query: &ListQuery,
) -> Result<i64> {
    let repos = match repository {
        Some(_) => vec![authz::readable_repository(services, repository, principal).await?],
        None => authz::readable_repositories(services, principal).await?,
    };
    let ids: Vec<i64> = repos.iter().map(|r| r.id).collect();
    let search = query.search.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(search::parse).transpose()?;
    let listing =
        Listing { repository_ids: &ids, search: search.as_ref(), sort: packages::Sort::Name, page: 1, per_page: 1 };
    Ok(packages::count(&services.db, &listing).await?)
}

/// A package's page: the package, the release shown (the latest unless a version is asked
/// for), that release's dependencies and downloads, the daily downloads, and for its owners
/// the audit log.
#[derive(Debug)]
pub struct PackagePage {
    pub view: PackageView,
    pub shown: Release,
    pub requirements: Vec<Requirement>,
    pub release_downloads: i64,
    /// The package's downloads of each of the last [`CHART_DAYS`] days, oldest first, zeros included.
    pub daily: Vec<(time::Date, i64)>,
    /// The package's audit log, for its owners only.
    pub audit: Option<Vec<Entry>>,
}

pub async fn package_page(
    services: &Services,
    repository: Option<&str>,
    principal: Option<&Principal>,
    name: &PackageName,
    version: Option<&Version>,
) -> Result<PackagePage> {
    let mut view = crate::packages::get(services, repository, principal, name).await?;
    view.releases.sort_by(|a, b| version_of(b).cmp_precedence(&version_of(a)).then_with(|| b.version.cmp(&a.version)));
    let shown = match version {
        Some(v) => view.releases.iter().find(|r| version_of(r) == *v),
        None => {
            let versions: Vec<(Version, usize)> =
                view.releases.iter().enumerate().map(|(i, r)| (version_of(r), i)).collect();
            Version::latest(versions.iter().map(|(v, i)| (v, *i))).and_then(|i| view.releases.get(i))
        }
    }
    .cloned()
    .ok_or(Error::NotFound)?;
    let requirements = releases::requirements_of_package(&services.db, view.package.id)
        .await?
        .into_iter()
        .filter(|q| q.release_id == shown.id)
        .collect();
    let release_downloads = downloads::of_releases(&services.db, &[shown.id]).await?.first().map_or(0, |(_, n)| *n);
    let counted = downloads::daily(&services.db, view.package.id, CHART_DAYS).await?;
    let today = time::OffsetDateTime::now_utc().date();
    let daily = (1..=CHART_DAYS)
        .rev()
        .map(|back| {
            let day = today - time::Duration::days(i64::from(back));
            (day, counted.iter().find(|(d, _)| *d == day).map_or(0, |(_, n)| *n))
        })
        .collect();
    let audit = match principal {
        Some(p) if is_owner(services, p, &view).await? => {
            Some(hexyard_storage::audit::of_package(&services.db, &view.repo.name, name.as_str(), 1, 50).await?)
        }
        _ => None,
    };
    Ok(PackagePage { view, shown, requirements, release_downloads, daily, audit })
}

/// Whether the caller owns the package: in person, or as a member of an owning organization.
async fn is_owner(services: &Services, principal: &Principal, view: &PackageView) -> Result<bool> {
    let Some(user) = &principal.user else { return Ok(false) };
    if view.owners.iter().any(|o| o.user_id == Some(user.id)) {
        return Ok(true);
    }
    for org_id in view.owners.iter().filter_map(|o| o.organization_id) {
        if orgs::role(&services.db, org_id, user.id).await?.is_some() {
            return Ok(true);
        }
    }
    Ok(false)
}

fn version_of(release: &Release) -> Version {
    Version::parse(&release.version).unwrap_or_else(|_| Version::new(0, 0, 0))
}

/// The requirement a dependency snippet offers for a version: `~> MAJOR.MINOR` for 1.0 and
/// later, the whole version (`~> 0.4.2`, `~> 2.0.0-rc.1`) before 1.0 and for pre-releases.
pub fn requirement(version: &Version) -> String {
    if version.is_pre() || version.major == 0 {
        format!("~> {}", Version { build: None, ..version.clone() })
    } else {
        format!("~> {}.{}", version.major, version.minor)
    }
}

/// Packages found elsewhere (a user's), with their repository, releases and downloads, as a
/// listing has them; packages of repositories this server does not know are left out.
pub async fn listed(services: &Services, found: Vec<hexyard_storage::packages::Package>) -> Result<Vec<Listed>> {
    let ids: Vec<i64> = found.iter().map(|p| p.id).collect();
    let mut all_releases = releases::of_packages(&services.db, &ids).await?;
    let counted = downloads::of_packages(&services.db, &ids).await?;
    let mut out = Vec::with_capacity(found.len());
    for package in found {
        let Some(repo) = services.repository(Some(&package.repository)).await? else { continue };
        let releases = all_releases.extract_if(.., |r| r.package_id == package.id).collect();
        let downloads = counted.iter().find(|(id, _)| *id == package.id).map(|(_, d)| *d).unwrap_or_default();
        out.push(Listed { repo, package, releases, downloads });
    }
    Ok(out)
}

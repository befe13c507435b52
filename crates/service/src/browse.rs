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

/// How long the home page's totals may be reused: counting every package and release of a
/// large registry on every visit is most of the page's time, and a count a few seconds old
/// is as good.
const TOTALS_FOR: std::time::Duration = std::time::Duration::from_secs(10);

/// Totals by the set of repositories they count, with when they were counted.
#[derive(Debug, Default)]
pub(crate) struct TotalsCache(std::sync::Mutex<std::collections::HashMap<Vec<i64>, (std::time::Instant, Totals)>>);

impl TotalsCache {
    async fn get(&self, db: &hexyard_storage::PgPool, ids: &[i64]) -> Result<Totals> {
        if let Some((at, totals)) = self.0.lock().expect("totals lock").get(ids)
            && at.elapsed() < TOTALS_FOR
        {
            return Ok(*totals);
        }
        let totals = packages::totals(db, ids).await?;
        let mut cached = self.0.lock().expect("totals lock");
        // one entry per set of organizations a reader belongs to: keep it small
        if cached.len() > 1000 {
            cached.clear();
        }
        cached.insert(ids.to_vec(), (std::time::Instant::now(), totals));
        Ok(totals)
    }
}

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
    let totals = services.totals.get(&services.db, &ids).await?;
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

/// Whether the caller manages the package: an owner (in person or through an owning
/// organization), or for an organization's package a member who may write to it.
async fn is_owner(services: &Services, principal: &Principal, view: &PackageView) -> Result<bool> {
    if principal.user.is_none() {
        return Ok(false);
    }
    if view.repo.public {
        return Ok(authz::owner_level(services, &view.package, principal).await?.is_some());
    }
    let Some(org) = orgs::get(&services.db, &view.repo.name).await? else { return Ok(false) };
    let user = principal.user()?;
    Ok(match orgs::role(&services.db, org.id, user.id).await? {
        Some(role) => role.parse::<hexyard_core::Role>().is_ok_and(|r| r >= hexyard_core::Role::Write),
        None => false,
    })
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

/// A user's page: the user, the first `limit` public packages they own (by name) as a listing
/// has them, and how many they own in all.
pub async fn user_page(
    services: &Services,
    who: &hexyard_core::UserRef,
    limit: i64,
) -> Result<(hexyard_storage::users::User, Vec<Listed>, i64)> {
    let user =
        hexyard_storage::users::by_name_or_public_email(&services.db, who.as_str()).await?.ok_or(Error::NotFound)?;
    let public = services.public().id;
    let owned = packages::owned_by_first(&services.db, user.id, public, limit).await?;
    let total = packages::count_owned(&services.db, user.id, public).await?;
    Ok((user, listed(services, owned).await?, total))
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

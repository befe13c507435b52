//! `hexyard mirror sync`: fills the cache ahead of time for networks that cannot reach the
//! upstream. Packages are resolved first (their signed resources fetched, dependencies
//! followed), then the tarballs not yet cached are fetched, a few at a time. A run that stops
//! half way resumes where it stopped: cached tarballs are skipped.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

use futures_util::StreamExt;
use hexyard_core::{Requirement, Version};
use hexyard_registry::proto;
use hexyard_storage::mirror as rows;

use super::{Mirror, MirrorError};

/// Which versions of a package are synced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Versions {
    /// The latest version (the highest stable, else the highest pre-release); for a dependency,
    /// the latest that meets the requirement.
    Latest,
    /// Every version; for a dependency, every version that meets the requirement.
    All,
}

/// What to sync.
#[derive(Debug, Clone)]
pub struct SyncRequest {
    pub packages: Vec<String>,
    /// Every package the upstream has.
    pub all: bool,
    /// Follow dependencies (not optional ones) of every synced release, recursively.
    pub with_deps: bool,
    pub versions: Versions,
    /// Tarballs fetched at once.
    pub concurrency: usize,
}

/// Told as a sync goes.
pub trait Progress: Send + Sync {
    /// A package's signed resource is being read.
    fn resolving(&self, package: &str);
    /// The tarballs to have: how many, and how many of them are cached already.
    fn planned(&self, tarballs: usize, cached: usize);
    /// A tarball was fetched (or failed).
    fn fetched(&self, tarball: &str, outcome: Result<usize, &MirrorError>);
}

/// What a sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    pub packages: usize,
    /// Tarballs the request names.
    pub tarballs: usize,
    /// Of those, fetched by this run.
    pub fetched: usize,
    /// Of those, cached before.
    pub cached: usize,
    /// What failed, with why.
    pub failures: Vec<(String, String)>,
}

#[derive(Debug, Clone)]
enum Selector {
    Latest,
    All,
    /// The latest version that meets the requirement.
    Meeting(Requirement),
    /// Every version that meets it.
    MeetingAll(Requirement),
}

pub async fn sync(mirror: &Arc<Mirror>, request: &SyncRequest, progress: &dyn Progress) -> crate::Result<SyncReport> {
    if mirror.settings.offline {
        return Err(crate::Error::BadRequest(
            "the mirror is offline (HEXYARD_MIRROR_OFFLINE): nothing to sync from".into(),
        ));
    }
    let run = rows::start_sync(&mirror.db).await?;
    let mut report = SyncReport::default();
    let root = match request.versions {
        Versions::Latest => Selector::Latest,
        Versions::All => Selector::All,
    };
    let mut queue: VecDeque<(String, Selector)> = VecDeque::new();
    if request.all {
        match mirror.versions().await {
            Ok(versions) => queue.extend(versions.packages.into_iter().map(|p| (p.name, root.clone()))),
            Err(e) => report.failures.push(("versions".into(), e.to_string())),
        }
    }
    queue.extend(request.packages.iter().map(|p| (p.clone(), root.clone())));

    // resolve: every package once from the upstream, its selected versions, their dependencies
    let mut packages: HashMap<String, Option<proto::package::Package>> = HashMap::new();
    let mut selected: HashMap<String, BTreeSet<String>> = HashMap::new();
    while let Some((name, selector)) = queue.pop_front() {
        if !packages.contains_key(&name) {
            progress.resolving(&name);
            let fetched = match mirror.package(&name, true).await {
                Ok(package) => Some(package),
                Err(e) => {
                    report.failures.push((format!("packages/{name}"), e.to_string()));
                    None
                }
            };
            packages.insert(name.clone(), fetched);
        }
        let Some(Some(package)) = packages.get(&name) else { continue };
        let chosen = choose(&package.releases, &selector);
        let have = selected.entry(name.clone()).or_default();
        for release in chosen {
            if !have.insert(release.version.clone()) || !request.with_deps {
                continue;
            }
            for dep in &release.dependencies {
                let foreign = dep.repository.as_deref().is_some_and(|r| r != mirror.settings.repository);
                if dep.optional == Some(true) || foreign {
                    continue;
                }
                let Ok(requirement) = Requirement::parse(&dep.requirement) else {
                    report.failures.push((
                        format!("{name} {}", release.version),
                        format!(
                            "dependency {} has a requirement that does not parse: {:?}",
                            dep.package, dep.requirement
                        ),
                    ));
                    continue;
                };
                let selector = match request.versions {
                    Versions::Latest => Selector::Meeting(requirement),
                    Versions::All => Selector::Meeting(requirement).all(),
                };
                queue.push_back((dep.package.clone(), selector));
            }
        }
    }
    report.packages = packages.values().filter(|p| p.is_some()).count();

    // fetch what is not cached yet
    let mut wanted = Vec::new();
    for (name, versions) in &selected {
        for version in versions {
            wanted.push((name.clone(), version.clone()));
        }
    }
    wanted.sort();
    let mut missing = Vec::new();
    for (name, version) in wanted {
        report.tarballs += 1;
        match mirror.has_tarball(&name, &version).await {
            Ok(true) => report.cached += 1,
            Ok(false) => missing.push(format!("{name}-{version}")),
            Err(e) => report.failures.push((format!("tarballs/{name}-{version}.tar"), e.to_string())),
        }
    }
    progress.planned(report.tarballs, report.cached);
    let mut fetches = futures_util::stream::iter(missing.into_iter().map(|stem| async move {
        let outcome = mirror.tarball(&stem).await;
        (stem, outcome)
    }))
    .buffer_unordered(request.concurrency.max(1));
    while let Some((stem, outcome)) = fetches.next().await {
        match outcome {
            Ok(served) => {
                report.fetched += 1;
                progress.fetched(&stem, Ok(served.body.len()));
            }
            Err(e) => {
                progress.fetched(&stem, Err(&e));
                report.failures.push((format!("tarballs/{stem}.tar"), e.to_string()));
            }
        }
    }
    rows::finish_sync(&mirror.db, run, report.packages as i64, report.fetched as i64, report.failures.len() as i64)
        .await?;
    Ok(report)
}

impl Selector {
    /// Every version meeting the requirement, not only the latest.
    fn all(self) -> Selector {
        match self {
            Selector::Meeting(r) => Selector::MeetingAll(r),
            other => other,
        }
    }
}

fn choose<'a>(releases: &'a [proto::package::Release], selector: &Selector) -> Vec<&'a proto::package::Release> {
    let parsed: Vec<(Version, &proto::package::Release)> =
        releases.iter().filter_map(|r| Some((Version::parse(&r.version).ok()?, r))).collect();
    match selector {
        Selector::All => parsed.into_iter().map(|(_, r)| r).collect(),
        Selector::Latest => Version::latest(parsed.iter().map(|(v, r)| (v, *r))).into_iter().collect(),
        Selector::Meeting(requirement) => {
            Version::latest(parsed.iter().filter(|(v, _)| requirement.matches(v)).map(|(v, r)| (v, *r)))
                .into_iter()
                .collect()
        }
        Selector::MeetingAll(requirement) => {
            parsed.into_iter().filter(|(v, _)| requirement.matches(v)).map(|(_, r)| r).collect()
        }
    }
}

//! Registry resources from plain Rust structs. The field rules are those hex.pm follows and
//! clients depend on: a dependency's `optional` only when true (Gleam reads presence as true),
//! `repository` only when it differs from the repository being built (mix), `app` only when it
//! differs from the package name; versions ascending; packages by name.

use std::time::{SystemTime, UNIX_EPOCH};

use hexyard_core::{RetirementReason, Version};

use crate::proto;

/// One package in `/names`.
#[derive(Debug, Clone, PartialEq)]
pub struct NamesEntry {
    pub name: String,
    pub updated_at: Option<SystemTime>,
}

/// One package in `/versions`: its releases, in any order.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionsEntry {
    pub name: String,
    /// (version, retired, has an advisory)
    pub releases: Vec<(Version, bool, bool)>,
}

/// A package and its releases, for `/packages/NAME`.
#[derive(Debug, Clone, PartialEq)]
pub struct PackageEntry {
    pub name: String,
    pub releases: Vec<Release>,
}

/// One release of a package.
#[derive(Debug, Clone, PartialEq)]
pub struct Release {
    pub version: Version,
    pub inner_checksum: [u8; 32],
    pub outer_checksum: [u8; 32],
    pub dependencies: Vec<Dependency>,
    pub retired: Option<Retirement>,
    pub published_at: Option<SystemTime>,
}

/// Why and how a release was retired.
#[derive(Debug, Clone, PartialEq)]
pub struct Retirement {
    pub reason: RetirementReason,
    pub message: Option<String>,
}

/// A dependency with every field resolved: the builder drops what clients must not see.
#[derive(Debug, Clone, PartialEq)]
pub struct Dependency {
    pub package: String,
    pub requirement: String,
    pub optional: bool,
    pub app: String,
    pub repository: String,
}

fn timestamp<T>(time: SystemTime, make: impl FnOnce(i64, i32) -> T) -> T {
    match time.duration_since(UNIX_EPOCH) {
        Ok(d) => make(d.as_secs() as i64, d.subsec_nanos() as i32),
        Err(e) => {
            // before 1970: negative seconds, nanos counted forward as the spec requires
            let d = e.duration();
            let (secs, nanos) = (d.as_secs() as i64, d.subsec_nanos() as i32);
            if nanos == 0 { make(-secs, 0) } else { make(-secs - 1, 1_000_000_000 - nanos) }
        }
    }
}

/// The `/names` payload.
pub fn names(repository: &str, entries: &[NamesEntry]) -> proto::names::Names {
    let mut packages: Vec<proto::names::Package> = entries
        .iter()
        .map(|e| proto::names::Package {
            name: e.name.clone(),
            updated_at: e.updated_at.map(|t| timestamp(t, |seconds, nanos| proto::names::Timestamp { seconds, nanos })),
        })
        .collect();
    packages.sort_by(|a, b| a.name.cmp(&b.name));
    proto::names::Names { packages, repository: repository.to_owned() }
}

/// The `/versions` payload; packages without releases are left out.
pub fn versions(repository: &str, entries: &[VersionsEntry]) -> proto::versions::Versions {
    let mut packages: Vec<proto::versions::Package> = entries
        .iter()
        .filter(|e| !e.releases.is_empty())
        .map(|e| {
            let mut releases = e.releases.clone();
            releases.sort_by(|a, b| a.0.cmp(&b.0));
            let indexes = |pick: fn(&(Version, bool, bool)) -> bool| {
                releases.iter().enumerate().filter(|(_, r)| pick(r)).map(|(i, _)| i as i32).collect()
            };
            proto::versions::Package {
                name: e.name.clone(),
                versions: releases.iter().map(|r| r.0.to_string()).collect(),
                retired: indexes(|r| r.1),
                with_advisories: indexes(|r| r.2),
            }
        })
        .collect();
    packages.sort_by(|a, b| a.name.cmp(&b.name));
    proto::versions::Versions { packages, repository: repository.to_owned() }
}

/// The `/packages/NAME` payload, releases ascending.
pub fn package(repository: &str, entry: &PackageEntry) -> proto::package::Package {
    let mut releases: Vec<&Release> = entry.releases.iter().collect();
    releases.sort_by(|a, b| a.version.cmp(&b.version));
    proto::package::Package {
        releases: releases.into_iter().map(|r| release(repository, r)).collect(),
        name: entry.name.clone(),
        repository: repository.to_owned(),
        advisories: Vec::new(),
    }
}

fn release(repository: &str, r: &Release) -> proto::package::Release {
    proto::package::Release {
        version: r.version.to_string(),
        inner_checksum: r.inner_checksum.to_vec(),
        dependencies: r.dependencies.iter().map(|d| dependency(repository, d)).collect(),
        retired: r.retired.as_ref().map(|ret| proto::package::RetirementStatus {
            reason: ret.reason.proto_value(),
            message: ret.message.clone(),
        }),
        outer_checksum: Some(r.outer_checksum.to_vec()),
        advisory_indexes: Vec::new(),
        published_at: r
            .published_at
            .map(|t| timestamp(t, |seconds, nanos| proto::package::Timestamp { seconds, nanos })),
    }
}

fn dependency(repository: &str, d: &Dependency) -> proto::package::Dependency {
    proto::package::Dependency {
        package: d.package.clone(),
        requirement: d.requirement.clone(),
        optional: d.optional.then_some(true),
        app: (d.app != d.package).then(|| d.app.clone()),
        repository: (d.repository != repository).then(|| d.repository.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    #[test]
    fn dependency_fields_only_when_needed() {
        let dep = |optional, app: &str, repository: &str| Dependency {
            package: "foo".into(),
            requirement: "~> 1.0".into(),
            optional,
            app: app.into(),
            repository: repository.into(),
        };
        let plain = dependency("acme", &dep(false, "foo", "acme"));
        assert_eq!((plain.optional, plain.app, plain.repository), (None, None, None));
        let full = dependency("acme", &dep(true, "foo_app", "hexpm"));
        assert_eq!(full.optional, Some(true));
        assert_eq!(full.app.as_deref(), Some("foo_app"));
        assert_eq!(full.repository.as_deref(), Some("hexpm"));
    }

    #[test]
    fn versions_sorted_with_indexes() {
        let entries = [
            VersionsEntry {
                name: "zed".into(),
                releases: vec![(v("1.0.0"), false, true), (v("0.9.0"), true, false), (v("1.0.0-rc.1"), true, false)],
            },
            VersionsEntry { name: "empty".into(), releases: vec![] },
            VersionsEntry { name: "abc".into(), releases: vec![(v("0.1.0"), false, false)] },
        ];
        let built = versions("acme", &entries);
        assert_eq!(built.repository, "acme");
        assert_eq!(built.packages.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["abc", "zed"]);
        let zed = &built.packages[1];
        assert_eq!(zed.versions, ["0.9.0", "1.0.0-rc.1", "1.0.0"]);
        assert_eq!(zed.retired, [0, 1]);
        assert_eq!(zed.with_advisories, [2]);
    }

    #[test]
    fn timestamps_before_and_after_the_epoch() {
        use std::time::Duration;
        let t = UNIX_EPOCH + Duration::new(5, 250);
        assert_eq!(timestamp(t, |s, n| (s, n)), (5, 250));
        let t = UNIX_EPOCH - Duration::new(5, 250);
        assert_eq!(timestamp(t, |s, n| (s, n)), (-6, 999_999_750));
    }
}

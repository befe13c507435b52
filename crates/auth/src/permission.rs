//! hex.pm's permission model: a key holds a list of `{domain, resource}` grants.
//!
//! - `api` (all of the API), `api:read`, `api:write` (which includes read);
//! - `repository:NAME`: fetch from one private repository; `repositories`: from all the
//!   owner's repositories;
//! - `package:NAME`: publish and manage one package, nothing else.

use std::fmt;

use hexyard_core::{PackageName, RepositoryName};

/// The domain of a grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Domain {
    Api,
    Repository,
    Repositories,
    Package,
}

/// One grant.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Permission {
    pub domain: Domain,
    pub resource: Option<String>,
}

/// Why a grant is not valid; the message goes under `errors.permissions`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PermissionError {
    #[error("invalid domain {0:?}")]
    Domain(String),
    #[error("invalid resource {resource:?} for domain {domain}")]
    Resource { domain: &'static str, resource: String },
}

impl Domain {
    pub fn as_str(self) -> &'static str {
        match self {
            Domain::Api => "api",
            Domain::Repository => "repository",
            Domain::Repositories => "repositories",
            Domain::Package => "package",
        }
    }
}

impl Permission {
    /// Validates a grant as a client sends it; the resource may be missing (mix does not send
    /// one for `api` and `repositories`).
    pub fn parse(domain: &str, resource: Option<&str>) -> Result<Permission, PermissionError> {
        let resource = resource.filter(|r| !r.is_empty());
        let bad = |d: Domain, r: &str| PermissionError::Resource { domain: d.as_str(), resource: r.to_owned() };
        let (domain, resource) = match domain {
            "api" => match resource {
                None | Some("read") | Some("write") => (Domain::Api, resource),
                Some(r) => return Err(bad(Domain::Api, r)),
            },
            "repositories" => match resource {
                None => (Domain::Repositories, None),
                Some(r) => return Err(bad(Domain::Repositories, r)),
            },
            "repository" => match resource {
                Some(r) if RepositoryName::parse(r).is_ok() => (Domain::Repository, Some(r)),
                r => return Err(bad(Domain::Repository, r.unwrap_or(""))),
            },
            "package" => match resource {
                // `ORG/NAME` names a package of an organization's repository
                Some(r) if r.rsplit('/').next().is_some_and(|n| PackageName::parse_existing(n).is_ok()) => {
                    (Domain::Package, Some(r))
                }
                r => return Err(bad(Domain::Package, r.unwrap_or(""))),
            },
            other => return Err(PermissionError::Domain(other.to_owned())),
        };
        Ok(Permission { domain, resource: resource.map(str::to_owned) })
    }

    /// `api` with no resource, the default of a new key.
    pub fn api() -> Permission {
        Permission { domain: Domain::Api, resource: None }
    }

    fn grants_api_read(&self) -> bool {
        self.domain == Domain::Api
    }

    fn grants_api_write(&self) -> bool {
        self.domain == Domain::Api && self.resource.as_deref() != Some("read")
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.resource {
            Some(r) => write!(f, "{}:{r}", self.domain.as_str()),
            None => f.write_str(self.domain.as_str()),
        }
    }
}

/// Checks over a key's grants.
pub trait Grants {
    fn allows_api_read(&self) -> bool;
    fn allows_api_write(&self) -> bool;
    /// Publishing or managing one package of a repository.
    fn allows_package(&self, repository: &str, public_repository: &str, name: &str) -> bool;
    /// Fetching from a private repository.
    fn allows_repository(&self, repository: &str) -> bool;
}

impl Grants for [Permission] {
    fn allows_api_read(&self) -> bool {
        self.iter().any(Permission::grants_api_read)
    }

    fn allows_api_write(&self) -> bool {
        self.iter().any(Permission::grants_api_write)
    }

    fn allows_package(&self, repository: &str, public_repository: &str, name: &str) -> bool {
        self.allows_api_write()
            || self.iter().any(|p| {
                p.domain == Domain::Package
                    && p.resource.as_deref().is_some_and(|r| match r.split_once('/') {
                        Some((repo, n)) => repo == repository && n == name,
                        None => repository == public_repository && r == name,
                    })
            })
    }

    fn allows_repository(&self, repository: &str) -> bool {
        self.iter().any(|p| {
            p.domain == Domain::Repositories
                || (p.domain == Domain::Repository && p.resource.as_deref() == Some(repository))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(domain: &str, resource: Option<&str>) -> Permission {
        Permission::parse(domain, resource).unwrap()
    }

    #[test]
    fn parses_what_clients_send() {
        assert_eq!(p("api", None), Permission::api());
        assert_eq!(p("api", Some("")).to_string(), "api");
        assert_eq!(p("api", Some("read")).to_string(), "api:read");
        assert_eq!(p("repositories", None).to_string(), "repositories");
        assert_eq!(p("repository", Some("acme")).to_string(), "repository:acme");
        assert_eq!(p("package", Some("plug")).to_string(), "package:plug");
        assert_eq!(p("package", Some("acme/plug")).to_string(), "package:acme/plug");
        assert!(Permission::parse("api", Some("admin")).is_err());
        assert!(Permission::parse("repository", None).is_err());
        assert!(Permission::parse("repositories", Some("x")).is_err());
        assert!(Permission::parse("package", Some("Bad")).is_err());
        assert_eq!(Permission::parse("docs", None), Err(PermissionError::Domain("docs".into())));
    }

    #[test]
    fn checks() {
        let read = [p("api", Some("read"))];
        assert!(read.allows_api_read() && !read.allows_api_write());
        let write = [p("api", Some("write"))];
        assert!(write.allows_api_read() && write.allows_api_write());
        assert!(write.allows_package("hexyard", "hexyard", "anything"));
        let pkg = [p("package", Some("plug"))];
        assert!(!pkg.allows_api_read() && !pkg.allows_api_write());
        assert!(pkg.allows_package("hexyard", "hexyard", "plug"));
        assert!(!pkg.allows_package("hexyard", "hexyard", "ecto"));
        assert!(!pkg.allows_package("acme", "hexyard", "plug"));
        let org_pkg = [p("package", Some("acme/plug"))];
        assert!(org_pkg.allows_package("acme", "hexyard", "plug"));
        let repos = [p("repositories", None)];
        assert!(repos.allows_repository("acme") && !repos.allows_api_read());
        let one = [p("repository", Some("acme"))];
        assert!(one.allows_repository("acme") && !one.allows_repository("other"));
    }
}

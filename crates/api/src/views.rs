//! The JSON shapes of the Hex API (the apiary's Package, Release, User and Key), built once and
//! encoded as JSON or ETF by [`crate::media::Reply`].

use hexyard_core::Version;
use hexyard_service::model::Entry;
use hexyard_service::model::Key;
use hexyard_service::model::Organization;
use hexyard_service::model::Owner;
use hexyard_service::model::Package;
use hexyard_service::model::PackageDownloads;
use hexyard_service::model::User;
use hexyard_service::model::{Release, Requirement};
use hexyard_service::{RepositoryRegistry, Services};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::macros::format_description;

/// ISO 8601 in UTC to the second, as hex.pm's ETF answers carry them. Stored times are UTC
/// and within years 1 to 9999; anything else (never stored) prints as it can.
pub fn timestamp(t: OffsetDateTime) -> String {
    let format = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    let utc = t.checked_to_offset(time::UtcOffset::UTC).unwrap_or(t);
    utc.format(&format).unwrap_or_else(|_| utc.to_string())
}

/// Paths and URLs of one repository's packages.
#[derive(Debug)]
pub struct Urls<'a> {
    pub services: &'a Services,
    pub repo: &'a RepositoryRegistry,
}

impl Urls<'_> {
    fn prefix(&self) -> String {
        if self.repo.id == self.services.public().id { String::new() } else { format!("/repos/{}", self.repo.name) }
    }

    pub fn package(&self, name: &str) -> String {
        self.services.api_url(&format!("{}/packages/{name}", self.prefix()))
    }

    pub fn release(&self, name: &str, version: &str) -> String {
        format!("{}/releases/{version}", self.package(name))
    }

    pub fn package_html(&self, name: &str) -> String {
        let base = &self.services.settings.public_url;
        if self.repo.id == self.services.public().id {
            format!("{base}/packages/{name}")
        } else {
            format!("{base}/packages/{}/{name}", self.repo.name)
        }
    }

    /// The docs site's page of a package (the latest docs) or of one version.
    pub fn docs_html(&self, name: &str, version: Option<&str>) -> String {
        let path = hexyard_service::docs::site_path(self.services, self.repo, name, version);
        format!("{}{path}", self.services.settings.public_url)
    }

    pub fn user(&self, username: &str) -> String {
        self.services.api_url(&format!("/users/{username}"))
    }
}

/// Dependency snippets for mix, rebar3 and erlang.mk. Neither the public repository nor an
/// organization's is hex.pm's: mix finds both by the name they were added under with
/// `mix hex.repo add` (as the README says), so both get `repo:`; `organization:` would send mix
/// to hex.pm.
pub fn configs(repo: &RepositoryRegistry, name: &str, version: &Version) -> Value {
    let requirement = hexyard_service::browse::requirement(version);
    json!({
        "mix.exs": format!("{{:{name}, \"{requirement}\", repo: \"{}\"}}", repo.name),
        "rebar.config": format!("{{{name}, \"{version}\"}}"),
        "erlang.mk": format!("dep_{name} = hex {version}"),
    })
}

pub fn retirement(r: &Release) -> Value {
    match &r.retirement_reason {
        Some(reason) => json!({"reason": reason, "message": r.retirement_message}),
        None => Value::Null,
    }
}

/// The Release shape; `downloads` are all of the release's.
pub fn release(urls: &Urls<'_>, package: &str, r: &Release, requirements: &[Requirement], downloads: i64) -> Value {
    let version = Version::parse(&r.version).unwrap_or_else(|_| Version::new(0, 0, 0));
    let reqs: Map<String, Value> = requirements
        .iter()
        .filter(|q| q.release_id == r.id)
        .map(|q| {
            let mut body = json!({"app": q.app, "requirement": q.requirement, "optional": q.optional});
            if q.dependency_repository != urls.repo.name {
                body["repository"] = json!(q.dependency_repository);
            }
            (q.dependency_name.clone(), body)
        })
        .collect();
    let meta = &r.meta.0;
    let mut body = json!({
        "version": r.version,
        "checksum": hex(&r.outer_checksum),
        "has_docs": r.has_docs,
        "inserted_at": timestamp(r.inserted_at),
        "updated_at": timestamp(r.updated_at),
        "retirement": retirement(r),
        "package_url": urls.package(package),
        "url": urls.release(package, &r.version),
        "html_url": format!("{}/{}", urls.package_html(package), r.version),
        "docs_html_url": if r.has_docs { json!(urls.docs_html(package, Some(&r.version))) } else { Value::Null },
        "requirements": reqs,
        "configs": configs(urls.repo, package, &version),
        "meta": {
            "app": meta.get("app").cloned().unwrap_or(Value::Null),
            "build_tools": meta.get("build_tools").cloned().unwrap_or_else(|| json!([])),
            "elixir": meta.get("elixir").cloned().unwrap_or(Value::Null),
        },
        "downloads": downloads,
    });
    if let Some(username) = &r.publisher {
        let mut publisher = json!({"username": username, "url": urls.user(username)});
        if let Some(email) = &r.publisher_email {
            publisher["email"] = json!(email);
        }
        body["publisher"] = publisher;
    }
    body
}

/// The Package shape; `releases` in any order, shown newest first.
pub fn package(
    urls: &Urls<'_>,
    p: &Package,
    releases: &[Release],
    owners: Option<&[Owner]>,
    downloads: &PackageDownloads,
) -> Value {
    let mut sorted: Vec<(Version, &Release)> =
        releases.iter().filter_map(|r| Some((Version::parse(&r.version).ok()?, r))).collect();
    sorted.sort_by(|a, b| b.0.cmp(&a.0));
    let latest = sorted.first().map(|(v, _)| v.clone());
    let latest_stable = sorted.iter().find(|(v, _)| !v.is_pre()).map(|(v, _)| v.to_string());
    let retirements: Map<String, Value> = sorted
        .iter()
        .filter(|(_, r)| r.retirement_reason.is_some())
        .map(|(v, r)| (v.to_string(), retirement(r)))
        .collect();
    let meta = &p.meta.0;
    let mut body = json!({
        "name": p.name,
        "repository": urls.repo.name,
        "url": urls.package(&p.name),
        "html_url": urls.package_html(&p.name),
        "docs_html_url": if releases.iter().any(|r| r.has_docs) { json!(urls.docs_html(&p.name, None)) } else { Value::Null },
        "meta": {
            "description": meta.get("description").cloned().unwrap_or(Value::Null),
            "licenses": meta.get("licenses").cloned().unwrap_or_else(|| json!([])),
            "links": meta.get("links").cloned().unwrap_or_else(|| json!({})),
            "maintainers": meta.get("maintainers").cloned().unwrap_or_else(|| json!([])),
        },
        "downloads": {"all": downloads.all, "recent": downloads.recent, "week": downloads.week, "day": downloads.day},
        "releases": sorted.iter().map(|(v, r)| json!({
            "version": v.to_string(),
            "url": urls.release(&p.name, &r.version),
            "has_docs": r.has_docs,
            "inserted_at": timestamp(r.inserted_at),
        })).collect::<Vec<_>>(),
        "retirements": retirements,
        "latest_version": latest.as_ref().map(ToString::to_string),
        "latest_stable_version": latest_stable,
        "configs": latest.map_or(Value::Null, |v| configs(urls.repo, &p.name, &v)),
        "inserted_at": timestamp(p.inserted_at),
        "updated_at": timestamp(p.updated_at),
    });
    if let Some(owners) = owners {
        body["owners"] = owners.iter().map(|o| owner(urls, o)).collect();
    }
    body
}

/// An owner: username (an organization's name for an organization), level, and the email when
/// public.
pub fn owner(urls: &Urls<'_>, o: &Owner) -> Value {
    let url = match o.organization_id {
        Some(_) => urls.services.api_url(&format!("/orgs/{}", o.username)),
        None => urls.user(&o.username),
    };
    let mut owner = json!({"username": o.username, "url": url, "level": o.level});
    if let (true, Some(email)) = (o.email_public, &o.email) {
        owner["email"] = json!(email);
    }
    owner
}

/// The User shape; the email only when public (or when it is the caller's own).
pub fn user(services: &Services, u: &User, owned: &[Package], show_email: bool) -> Value {
    let urls = Urls { services, repo: services.public() };
    let mut body = json!({
        "username": u.username,
        "inserted_at": timestamp(u.inserted_at),
        "updated_at": timestamp(u.updated_at),
        "url": urls.user(&u.username),
        "handles": {},
        "packages": owned.iter().map(|p| json!({
            "name": p.name,
            "repository": p.repository,
            "url": urls.package(&p.name),
            "html_url": urls.package_html(&p.name),
        })).collect::<Vec<_>>(),
        "owned_packages": owned.iter().map(|p| (p.name.clone(), json!(urls.package(&p.name)))).collect::<Map<_, _>>(),
    });
    // rebar3_hex reads these with binary_to_list: leave them out rather than send nil
    if let (true, Some(email)) = (show_email || u.email_public, &u.email) {
        body["email"] = json!(email);
    }
    if let Some(full_name) = &u.full_name {
        body["full_name"] = json!(full_name);
    }
    body
}

/// The Key shape; the secret only right after creation.
pub fn key(services: &Services, k: &Key, authing_key_id: Option<i64>, secret: Option<&str>) -> Value {
    let mut body = json!({
        "name": k.name,
        "authing_key": Some(k.id) == authing_key_id,
        "permissions": k.permissions.0.iter().map(|p| json!({"domain": p.domain, "resource": p.resource})).collect::<Vec<_>>(),
        "revoke_at": k.revoke_at.map(timestamp),
        "inserted_at": timestamp(k.inserted_at),
        "updated_at": timestamp(k.updated_at),
        "url": services.api_url(&format!("/keys/{}", k.name)),
        "last_use": k.last_used_at.map_or(Value::Null, |t| json!({
            "used_at": timestamp(t), "ip": k.last_use_ip, "user_agent": k.last_use_user_agent,
        })),
    });
    if let Some(secret) = secret {
        body["secret"] = json!(secret);
    }
    body
}

/// The Key shape, at the organization's address.
pub fn org_key(
    services: &Services,
    org: &Organization,
    k: &Key,
    authing_key_id: Option<i64>,
    secret: Option<&str>,
) -> Value {
    let mut body = key(services, k, authing_key_id, secret);
    body["url"] = json!(services.api_url(&format!("/orgs/{}/keys/{}", org.name, k.name)));
    body
}

/// Audit log entries: hex.pm's API shows the action, its parameters and the user agent, not
/// the address.
pub fn audit_entries(entries: &[Entry]) -> Value {
    entries
        .iter()
        .map(|e| json!({"action": e.action, "params": e.params, "user_agent": e.user_agent, "inserted_at": timestamp(e.inserted_at)}))
        .collect()
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

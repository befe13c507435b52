//! Publishing a release: validate the tarball and hex.pm's rules, write the tarball blob, commit
//! package, release, requirements, owner and audit entry in one transaction, then re-sign the
//! package's registry resource before answering. A failed transaction removes the blob it wrote;
//! a replaced release's old blob goes only once nothing points at it.

use bytes::Bytes;
use hexyard_core::{HEXPM, PackageName};
use hexyard_storage::{StorageError, audit, blobs, owners, packages, releases};
use hexyard_tarball::{Metadata, Package};
use serde_json::{Map, Value, json};
use time::{Duration, OffsetDateTime};

use crate::{Error, Principal, RepositoryRegistry, Result, Services, authz};

/// What a publish request carries.
#[derive(Debug)]
pub struct PublishRequest<'a> {
    pub repo: &'a RepositoryRegistry,
    /// The name in `/packages/:name/releases`, which must match the tarball's.
    pub url_name: Option<&'a str>,
    pub replace: bool,
    pub body: Bytes,
    pub principal: &'a Principal,
}

/// The committed release, as stored.
#[derive(Debug)]
pub struct Published {
    pub package: packages::Package,
    pub release: releases::Release,
    pub requirements: Vec<releases::Requirement>,
    pub replaced: bool,
}

/// How long after publishing a release of a public repository may still be replaced, and how
/// long after the package was created.
const RELEASE_WINDOW: Duration = Duration::hours(1);
const PACKAGE_WINDOW: Duration = Duration::hours(24);

/// Whether a release of the public repository may still be changed: published within the hour,
/// or its package created within the day.
pub(crate) fn within_window(release_inserted_at: OffsetDateTime, package_inserted_at: OffsetDateTime) -> bool {
    let now = OffsetDateTime::now_utc();
    now - release_inserted_at <= RELEASE_WINDOW || now - package_inserted_at <= PACKAGE_WINDOW
}

/// The repository an upload goes to, decided before a byte of the body is read: one the caller
/// may read (`None`: the public one), and for an OAuth token a current TOTP code.
pub async fn target(
    services: &Services,
    repository: Option<&str>,
    principal: &Principal,
) -> Result<std::sync::Arc<RepositoryRegistry>> {
    let repo = authz::readable_repository(services, repository, Some(principal)).await?;
    crate::tfa::require_write_code(services, principal, principal.otp.as_deref()).await?;
    Ok(repo)
}

/// Publishes a release from its tarball.
pub async fn publish(services: &Services, req: PublishRequest<'_>) -> Result<Published> {
    let tarball =
        hexyard_tarball::read(&req.body, &services.settings.limits).map_err(|e| Error::field("tar", e.to_string()))?;
    let meta = &tarball.metadata;
    let name = meta.name.as_str();
    if req.url_name.is_some_and(|n| n != name) {
        return Err(Error::field("name", "metadata does not match package name"));
    }
    let existing = packages::get(&services.db, req.repo.id, name).await?;
    authz::may_publish(services, req.principal, req.repo, name, existing.as_ref()).await?;
    if existing.is_none()
        && let Err(e) = PackageName::parse(name)
    {
        return Err(Error::field("name", e.to_string()));
    }
    let requirements = check_rules(services, req.repo, &tarball).await?;

    // the blob first: a release never names a tarball that is not there
    let blob_key = blobs::tarball_key(&tarball.outer_checksum);
    let write = crate::gc::BlobWrite::begin(&services.db).await?;
    let outcome = match services.blobs.put(&blob_key, req.body.clone()).await {
        Ok(()) => commit(services, &req, &tarball, &requirements).await,
        Err(e) => Err(e.into()),
    };
    write.done().await;
    let replaced_checksum = match outcome {
        Ok(old) => old,
        Err(e) => {
            remove_unused_blob(services, &tarball.outer_checksum).await;
            return Err(e);
        }
    };
    if let Some(old) = replaced_checksum.as_ref().filter(|old| old.as_slice() != tarball.outer_checksum) {
        remove_unused_blob(services, old).await;
    }

    req.repo.rebuild_package(&services.db, name).await?;
    services.refresh_index(req.repo).await?;
    tracing::info!(package.name = name, version = %meta.version, repository = req.repo.name, "published {name} {}", meta.version);
    let version = meta.version.to_string();
    let package = packages::get(&services.db, req.repo.id, name).await?.ok_or(Error::NotFound)?;
    let release = releases::get(&services.db, package.id, &version).await?.ok_or(Error::NotFound)?;
    let requirements = releases::requirements_of_package(&services.db, package.id).await?;
    metrics::counter!("hexyard_publishes_total", "kind" => if replaced_checksum.is_some() { "replace" } else { "new" })
        .increment(1);
    Ok(Published { package, release, requirements, replaced: replaced_checksum.is_some() })
}

/// hex.pm's metadata rules, and the dependencies' repositories; returns the requirements to store.
async fn check_rules(
    services: &Services,
    repo: &RepositoryRegistry,
    tarball: &Package,
) -> Result<Vec<releases::Requirement>> {
    let meta = &tarball.metadata;
    let mut errors = Map::new();
    if repo.public {
        if meta.description.as_deref().is_none_or(|d| d.trim().is_empty()) {
            errors.insert("description".into(), json!("can't be blank"));
        }
        if meta.licenses.is_empty() {
            errors.insert("licenses".into(), json!("can't be blank"));
        }
    }
    for (label, url) in &meta.links {
        if !valid_link(url) {
            errors.insert("links".into(), json!(format!("invalid link {url:?} for {label:?}")));
        }
    }
    if meta.build_tools.is_empty() {
        errors.insert("build_tools".into(), json!("can't be blank"));
    }
    if tarball.contents.iter().all(|e| e.is_dir) {
        errors.insert("files".into(), json!("package can't be empty"));
    }

    // a dependency without a repository is in this repository when it exists here, else on hex.pm;
    // an organization's package may also depend on the instance's public repository
    let names: Vec<String> = meta.requirements.iter().map(|d| d.name.to_string()).collect();
    let local = packages::existing(&services.db, repo.id, &names).await?;
    let public =
        if repo.public { Vec::new() } else { packages::existing(&services.db, services.public().id, &names).await? };
    let mut dep_errors = Map::new();
    let mut requirements = Vec::new();
    for dep in &meta.requirements {
        let dep_name = dep.name.to_string();
        let dep_repo = match &dep.repository {
            Some(r) => r.to_string(),
            None if local.contains(&dep_name) => repo.name.clone(),
            None => HEXPM.to_owned(),
        };
        let from_public = !repo.public && dep_repo == services.public().name;
        if dep_repo != HEXPM && dep_repo != repo.name && !from_public {
            let allowed = if repo.public {
                format!("\"{HEXPM}\" or \"{}\"", repo.name)
            } else {
                format!("\"{HEXPM}\", \"{}\" or \"{}\"", services.public().name, repo.name)
            };
            let message = format!("dependencies can only belong to repository {allowed}, got: {dep_repo:?}");
            dep_errors.insert(dep_name.clone(), json!(message));
        } else if (dep_repo == repo.name && !local.contains(&dep_name)) || (from_public && !public.contains(&dep_name))
        {
            dep_errors.insert(dep_name.clone(), json!(format!("package does not exist in repository {dep_repo:?}")));
        }
        requirements.push(releases::Requirement {
            release_id: 0,
            dependency_name: dep_name,
            dependency_repository: dep_repo,
            app: dep.app.clone(),
            requirement: dep.requirement.to_string(),
            optional: dep.optional,
        });
    }
    if !dep_errors.is_empty() {
        errors.insert("requirements".into(), Value::Object(dep_errors));
    }
    if errors.is_empty() { Ok(requirements) } else { Err(Error::Invalid(errors)) }
}

fn valid_link(url: &str) -> bool {
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
    rest.is_some_and(|r| r.split(['/', '?', '#']).next().is_some_and(|host| !host.is_empty() && !host.contains(' ')))
}

fn package_meta(meta: &Metadata) -> Value {
    json!({
        "description": meta.description,
        "licenses": meta.licenses,
        "links": meta.links,
        "maintainers": meta.maintainers,
        "extra": meta.extra,
    })
}

fn release_meta(meta: &Metadata) -> Value {
    json!({
        "app": meta.app,
        "build_tools": meta.build_tools,
        "elixir": meta.elixir.as_ref().map(|r| r.as_str()),
        "files": meta.files,
    })
}

/// The transaction; returns the outer checksum of the release it replaced, if any.
async fn commit(
    services: &Services,
    req: &PublishRequest<'_>,
    tarball: &Package,
    requirements: &[releases::Requirement],
) -> Result<Option<Vec<u8>>> {
    let meta = &tarball.metadata;
    let version = meta.version.to_string();
    let mut tx = services.db.begin().await?;
    let (package_id, created) = packages::upsert(&mut tx, req.repo.id, meta.name.as_str(), &package_meta(meta)).await?;
    let new = releases::NewRelease {
        package_id,
        version: &version,
        inner_checksum: &tarball.inner_checksum,
        outer_checksum: &tarball.outer_checksum,
        meta: &release_meta(meta),
        publisher_id: req.principal.user.as_ref().map(|u| u.id),
    };
    let (release_id, replaced) = match releases::get_for_update(&mut tx, package_id, &version).await? {
        Some((id, old_checksum, inserted_at)) => {
            if !req.replace {
                return Err(Error::field(
                    "inserted_at",
                    "must include the --replace flag to update an existing release",
                ));
            }
            if req.repo.public && !editable(services, package_id, inserted_at).await? {
                return Err(Error::field("inserted_at", "can only modify a release up to one hour after publication"));
            }
            releases::replace(&mut tx, id, &new).await?;
            (id, Some(old_checksum))
        }
        None => match releases::insert(&mut tx, &new).await {
            Ok(id) => (id, None),
            Err(e) if e.is_unique_violation("releases_package_id_version_key") => {
                return Err(Error::field("version", "has already been published"));
            }
            Err(e) => return Err(e.into()),
        },
    };
    releases::insert_requirements(&mut tx, release_id, requirements).await?;
    crate::packages::refresh_depends(&mut tx, package_id).await?;
    if created && req.repo.public {
        owners::add(&mut *tx, package_id, req.principal.user()?.id, "full").await?;
    }
    let mut params = json!({"package": meta.name.as_str(), "version": version, "repository": req.repo.name, "replaced": replaced.is_some()});
    if !req.repo.public {
        // an organization's audit log lists the publishes into its repository
        params["organization"] = json!(req.repo.name);
    }
    audit::record(&mut *tx, &req.principal.actor, "release.publish", params).await?;
    tx.commit().await.map_err(|e| match StorageError::from(e) {
        e if e.is_unique_violation("releases_package_id_version_key") => {
            Error::field("version", "has already been published")
        }
        e => e.into(),
    })?;
    Ok(replaced)
}

async fn editable(services: &Services, package_id: i64, release_inserted_at: OffsetDateTime) -> Result<bool> {
    let created = packages::inserted_at(&services.db, package_id).await?;
    Ok(created.is_some_and(|created| within_window(release_inserted_at, created)))
}

/// Deletes a tarball blob once no release names it.
pub(crate) async fn remove_unused_blob(services: &Services, outer_checksum: &[u8]) {
    // (left for the collector when this fails)
    if let Err(e) = crate::gc::remove_tarball_if_unused(services, outer_checksum).await {
        tracing::warn!(error = %e.chain(), "removing an unused tarball failed");
    }
}

#[cfg(test)]
mod tests {
    use super::valid_link;

    #[test]
    fn links_need_an_http_url_with_a_host() {
        assert!(valid_link("https://example.com/foo"));
        assert!(valid_link("http://example.com"));
        assert!(!valid_link("ftp://example.com"));
        assert!(!valid_link("https://"));
        assert!(!valid_link("https:///path"));
        assert!(!valid_link("javascript:alert(1)"));
    }
}

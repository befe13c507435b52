//! A release's documentation: the gzipped tarball `mix hex.publish` uploads after the package,
//! validated (only regular files and directories, safe relative names, hex.pm's size limits,
//! an `index.html`) and kept byte for byte in the blob store, served back as
//! `/repo/docs/NAME-VERSION.tar.gz`.

use bytes::Bytes;
use hexyard_core::{PackageName, Version};
use hexyard_storage::{audit, blobs, packages, releases};

use crate::authz::Acting;
use crate::lifecycle::{managed, params};
use crate::{Error, Principal, RepositoryRegistry, Result, Services};

/// Checks a docs tarball: gzip, tar, limits, safe entries, and an `index.html` at the top.
fn validate(services: &Services, body: &[u8]) -> Result<()> {
    let entries = hexyard_tarball::docs::validate(body, &services.settings.limits)
        .map_err(|e| Error::field("tar", e.to_string()))?;
    if !entries.iter().any(|e| !e.is_dir && e.path == "index.html") {
        return Err(Error::field("tar", "missing index.html"));
    }
    Ok(())
}

/// `POST …/releases/VERSION/docs`: stores (or replaces) a release's docs.
pub async fn upload(
    services: &Services,
    repository: Option<&str>,
    principal: &Principal,
    name: &PackageName,
    version: &Version,
    body: Bytes,
) -> Result<()> {
    let t = managed(services, repository, Acting::Caller(principal), name, version).await?;
    validate(services, &body)?;
    services.blobs.put(&blobs::docs_key(t.repo.id, &t.package.name, &t.release.version), body).await?;
    releases::set_has_docs(&services.db, t.release.id, true).await?;
    audit::record(&services.db, &principal.actor, "docs.publish", params(&t, Acting::Caller(principal))).await?;
    Ok(())
}

/// `DELETE …/releases/VERSION/docs`: removes a release's docs; 404 when it has none.
pub async fn remove(
    services: &Services,
    repository: Option<&str>,
    principal: &Principal,
    name: &PackageName,
    version: &Version,
) -> Result<()> {
    let t = managed(services, repository, Acting::Caller(principal), name, version).await?;
    if !t.release.has_docs {
        return Err(Error::NotFound);
    }
    releases::set_has_docs(&services.db, t.release.id, false).await?;
    services.blobs.delete(&blobs::docs_key(t.repo.id, &t.package.name, &t.release.version)).await?;
    audit::record(&services.db, &principal.actor, "docs.revoke", params(&t, Acting::Caller(principal))).await?;
    Ok(())
}

/// The docs tarball of a release, as uploaded, from a repository the caller may read.
pub async fn tarball(
    services: &Services,
    repo: &RepositoryRegistry,
    name: &PackageName,
    version: &Version,
) -> Result<Option<Bytes>> {
    let Some(package) = packages::get(&services.db, repo.id, name.as_str()).await? else { return Ok(None) };
    let release = releases::get(&services.db, package.id, &version.to_string()).await?;
    if !release.is_some_and(|r| r.has_docs) {
        return Ok(None);
    }
    Ok(services.blobs.get(&blobs::docs_key(repo.id, name.as_str(), &version.to_string())).await?)
}

/// Forgets a reverted release's docs.
pub(crate) async fn forget(services: &Services, repo: &RepositoryRegistry, package: &str, version: &str) {
    if let Err(e) = services.blobs.delete(&blobs::docs_key(repo.id, package, version)).await {
        tracing::warn!(error = %e, "removing a reverted release's docs failed");
    }
}

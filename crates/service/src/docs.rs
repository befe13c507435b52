//! A release's documentation: the gzipped tarball `mix hex.publish` uploads after the package,
//! validated (only regular files and directories, safe relative names, hex.pm's size limits, a
//! compression ratio, an `index.html`) and kept byte for byte in the blob store, served back as
//! `/repo/docs/NAME-VERSION.tar.gz`; and the docs site, which unpacks a tarball in memory when
//! one of its pages is asked for (see [`page`]).

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use hexyard_core::{PackageName, Version};
use hexyard_storage::{audit, blobs, packages, releases};
use sha2::{Digest, Sha256};

use crate::authz::{Acting, Reader, reader_may_read};
use crate::blob_cache::{BudgetCache, Weigh};
use crate::lifecycle::{managed, params};
use crate::{Error, Principal, RepositoryRegistry, Result, Services};

/// How much memory unpacked docs may take.
pub const DOCS_CACHE_BYTES: usize = 256 * 1024 * 1024;

/// Docs tarballs unpacked at once, at most: each may take up to the unpacked size limit.
const CONCURRENT_UNPACKS: usize = 2;

/// Unpacked docs by the checksum of their tarball, and the bound on unpacking.
#[derive(Debug)]
pub struct DocsCache {
    sets: BudgetCache<Arc<Unpacked>>,
    unpacking: tokio::sync::Semaphore,
}

impl Default for DocsCache {
    fn default() -> Self {
        DocsCache {
            sets: BudgetCache::new("docs", DOCS_CACHE_BYTES),
            unpacking: tokio::sync::Semaphore::new(CONCURRENT_UNPACKS),
        }
    }
}

/// One release's docs, unpacked: file paths to their bytes.
#[derive(Debug)]
pub struct Unpacked {
    files: HashMap<String, Bytes>,
    weight: usize,
}

impl Unpacked {
    fn new(docs: hexyard_tarball::docs::Docs) -> Self {
        let weight = docs.files.iter().map(|f| f.path.len() + f.data.len()).sum();
        Unpacked { files: docs.files.into_iter().map(|f| (f.path, Bytes::from(f.data))).collect(), weight }
    }
}

impl Weigh for Unpacked {
    fn weight(&self) -> usize {
        self.weight
    }
}

/// One of the few unpacking slots.
async fn unpacking_slot(services: &Services) -> Result<tokio::sync::SemaphorePermit<'_>> {
    services.docs.unpacking.acquire().await.map_err(|e| Error::internal("unpacking docs", e))
}

/// Checks and unpacks a docs tarball (gzip, tar, limits, safe entries, an `index.html`) off
/// the async workers; the caller holds an unpacking slot.
async fn unpack(services: &Services, body: Bytes) -> Result<Unpacked> {
    let limits = services.settings.limits;
    let docs = tokio::task::spawn_blocking(move || hexyard_tarball::docs::unpack(&body, &limits))
        .await
        .map_err(|e| Error::internal("unpacking docs", e))?
        .map_err(|e| Error::field("tar", e.to_string()))?;
    Ok(Unpacked::new(docs))
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
    let checksum = Sha256::digest(&body);
    let slot = unpacking_slot(services).await?;
    let unpacked = unpack(services, body.clone()).await?;
    drop(slot);
    let write = crate::gc::BlobWrite::begin(&services.db).await?;
    services.blobs.put(&blobs::docs_key(t.repo.id, &t.package.name, &t.release.version), body).await?;
    releases::set_docs(&services.db, t.release.id, Some(checksum.as_slice())).await?;
    write.done().await;
    // the site will ask for these pages next
    services.docs.sets.insert(&checksum, Arc::new(unpacked));
    audit::record(&services.db, &principal.actor, "docs.publish", params(&t, Acting::Caller(principal))).await?;
    metrics::counter!("hexyard_docs_uploads_total").increment(1);
    Ok(())
}

/// Whether the caller may upload docs for a release, decided before the body is read (an upload
/// with `Expect: 100-continue` is answered at once when not).
pub async fn may_upload(
    services: &Services,
    repository: Option<&str>,
    principal: &Principal,
    name: &PackageName,
    version: &Version,
) -> Result<()> {
    managed(services, repository, Acting::Caller(principal), name, version).await.map(|_| ())
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
    releases::set_docs(&services.db, t.release.id, None).await?;
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

/// What the docs site answers.
#[derive(Debug)]
pub enum Page {
    /// A file of the docs (or the generated `docs_config.js`).
    File {
        body: Bytes,
        content_type: String,
        etag: String,
        /// Whether anyone may read it (the public repository's docs), so caches may share it.
        public: bool,
    },
    /// A directory asked for without its trailing slash: the path (from the site's root) to go to.
    Redirect(String),
}

/// The path of a package's docs on the site, from the server's root: `/docs/NAME/` in the public
/// repository, `/repos/ORG/docs/NAME/` in an organization's; with a version, that version's.
pub fn site_path(services: &Services, repo: &RepositoryRegistry, name: &str, version: Option<&str>) -> String {
    let root = if repo.id == services.public().id { String::new() } else { format!("/repos/{}", repo.name) };
    match version {
        Some(v) => format!("{root}/docs/{name}/{v}/"),
        None => format!("{root}/docs/{name}/"),
    }
}

/// A page of a package's docs site. `rest` is the path below the package's root: a version and
/// a path in its docs (`1.0.0/Foo.html`), or a path in the latest docs (`Foo.html`);
/// `docs_config.js` at either root is the version list hexdocs writes. A private package's docs
/// are for its organization's members (a browser session or a key that may read the
/// repository); to anyone else they do not exist.
pub async fn page(
    services: &Services,
    reader: Reader<'_>,
    repository: Option<&str>,
    name: &PackageName,
    rest: &str,
) -> Result<Page> {
    let repo = services.repository(repository).await?.ok_or(Error::NotFound)?;
    if !reader_may_read(services, &repo, reader).await? {
        return Err(Error::NotFound);
    }
    let package = packages::get(&services.db, repo.id, name.as_str()).await?.ok_or(Error::NotFound)?;
    let all = releases::of_package(&services.db, package.id).await?;
    let mut with_docs: Vec<(Version, &releases::Release)> =
        all.iter().filter(|r| r.has_docs).filter_map(|r| Some((Version::parse(&r.version).ok()?, r))).collect();
    with_docs.sort_by(|a, b| b.0.cmp(&a.0));
    // the latest docs, as hexdocs picks them
    let latest = Version::latest(with_docs.iter().enumerate().map(|(i, (v, _))| (v, i)));

    let (first, below) = rest.split_once('/').map_or((rest, None), |(a, b)| (a, Some(b)));
    let (chosen, path, base) = match Version::parse(first) {
        Ok(version) => {
            let index = with_docs.iter().position(|(v, _)| *v == version).ok_or(Error::NotFound)?;
            let base = site_path(services, &repo, name.as_str(), Some(first));
            let Some(path) = below else { return Ok(Page::Redirect(base)) };
            (index, path, base)
        }
        Err(_) => (latest.ok_or(Error::NotFound)?, rest, site_path(services, &repo, name.as_str(), None)),
    };
    let public = repo.public;
    if path == "docs_config.js" {
        let body = Bytes::from(docs_config(services, &repo, name.as_str(), &with_docs, latest));
        let etag = format!("\"{}\"", hexyard_tarball::hex_lower(&Sha256::digest(&body)[..16]));
        return Ok(Page::File { body, content_type: "text/javascript; charset=utf-8".into(), etag, public });
    }
    let release = with_docs[chosen].1;
    let (checksum, docs) = unpacked(services, &repo, name.as_str(), release).await?;
    let file = if path.is_empty() || path.ends_with('/') { format!("{path}index.html") } else { path.to_owned() };
    let Some(body) = docs.files.get(&file) else {
        if docs.files.contains_key(&format!("{file}/index.html")) {
            return Ok(Page::Redirect(format!("{base}{file}/")));
        }
        return Err(Error::NotFound);
    };
    Ok(Page::File {
        body: body.clone(),
        content_type: content_type(&file),
        etag: format!("\"{}\"", hexyard_tarball::hex_lower(&checksum[..16])),
        public,
    })
}

/// A release's docs, unpacked, from the cache or from the blob store, with the checksum of
/// their tarball.
async fn unpacked(
    services: &Services,
    repo: &RepositoryRegistry,
    name: &str,
    release: &releases::Release,
) -> Result<(Vec<u8>, Arc<Unpacked>)> {
    if let Some(sum) = &release.docs_checksum
        && let Some(docs) = services.docs.sets.get(sum)
    {
        return Ok((sum.clone(), docs));
    }
    // one slot for the fetch and the unpacking: a page's requests that wait here find the docs
    // unpacked by the first
    let _slot = unpacking_slot(services).await?;
    if let Some(sum) = &release.docs_checksum
        && let Some(docs) = services.docs.sets.get(sum)
    {
        return Ok((sum.clone(), docs));
    }
    let key = blobs::docs_key(repo.id, name, &release.version);
    let tarball = services.blobs.get(&key).await?.ok_or(Error::NotFound)?;
    let sum = Sha256::digest(&tarball).to_vec();
    if release.docs_checksum.is_none() {
        // docs uploaded before checksums were recorded get theirs now
        releases::record_docs_checksum(&services.db, release.id, &sum).await?;
    }
    if let Some(docs) = services.docs.sets.get(&sum) {
        return Ok((sum, docs));
    }
    let docs = Arc::new(unpack(services, tarball).await.map_err(|e| {
        tracing::error!(package = name, version = %release.version, error = %e, "stored docs do not unpack");
        Error::NotFound
    })?);
    services.docs.sets.insert(&sum, docs.clone());
    Ok((sum, docs))
}

/// `docs_config.js` as hexdocs writes it: every version with docs, newest first, for ex_doc's
/// version switcher.
fn docs_config(
    services: &Services,
    repo: &RepositoryRegistry,
    name: &str,
    with_docs: &[(Version, &releases::Release)],
    latest: Option<usize>,
) -> String {
    let nodes: Vec<serde_json::Value> = with_docs
        .iter()
        .enumerate()
        .map(|(i, (v, r))| {
            let path = site_path(services, repo, name, Some(&v.to_string()));
            let mut node = serde_json::json!({
                "version": format!("v{v}"),
                "url": format!("{}{}", services.settings.public_url, path.trim_end_matches('/')),
            });
            if latest == Some(i) {
                node["latest"] = true.into();
            }
            if r.retirement_reason.is_some() {
                node["retired"] = true.into();
            }
            node
        })
        .collect();
    format!("var versionNodes = {};\n", serde_json::Value::from(nodes))
}

/// The content type of a docs file by its extension; text in UTF-8, as ex_doc writes it.
fn content_type(path: &str) -> String {
    let mime = mime_guess::from_path(path).first_or_octet_stream();
    if mime.type_() == mime_guess::mime::TEXT || mime.subtype() == mime_guess::mime::JAVASCRIPT {
        format!("{mime}; charset=utf-8")
    } else {
        mime.to_string()
    }
}

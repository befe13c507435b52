//! A repository's registry, served from memory: the signed, gzipped `/names`, `/versions` and
//! `/packages/NAME`, and the index of tarballs. Readers clone an `Arc` under a read lock that
//! writers hold only to swap one entry in; building and signing happen outside it, so reads
//! never wait on a publish. Each resource is also stored in Postgres so a restart serves at
//! once, without re-signing.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use hexyard_core::{RetirementReason, Version};
use hexyard_registry::{SigningKey, build, sign_and_gzip};
use hexyard_storage::{PgPool, StorageError, packages, releases, resources};
use time::OffsetDateTime;
use tokio::sync::{Mutex, Notify};

use crate::media::etag_of;

/// One signed resource as served.
#[derive(Debug, Clone)]
pub struct Resource {
    pub body: Bytes,
    pub etag: String,
    pub last_modified: SystemTime,
}

/// Where a tarball is and how it is named in headers.
#[derive(Debug, Clone)]
pub struct TarballRef {
    pub outer_checksum: Vec<u8>,
    pub etag: String,
}

/// The registry of one repository.
#[derive(Debug)]
pub struct RepositoryRegistry {
    pub id: i64,
    pub name: String,
    pub public: bool,
    key: SigningKey,
    public_key_pem: Bytes,
    resources: RwLock<HashMap<String, Arc<Resource>>>,
    tarballs: RwLock<HashMap<String, TarballRef>>,
    /// Serializes package rebuilds, so a slower rebuild never overwrites a newer one.
    rebuild: Mutex<()>,
    index_dirty: Notify,
}

impl RepositoryRegistry {
    pub fn new(id: i64, name: String, public: bool, key: SigningKey) -> Self {
        let public_key_pem = Bytes::from(key.verifying_key().to_pem());
        RepositoryRegistry {
            id,
            name,
            public,
            key,
            public_key_pem,
            resources: RwLock::default(),
            tarballs: RwLock::default(),
            rebuild: Mutex::new(()),
            index_dirty: Notify::new(),
        }
    }

    pub fn public_key_pem(&self) -> Bytes {
        self.public_key_pem.clone()
    }

    pub fn fingerprint(&self) -> String {
        self.key.verifying_key().fingerprint()
    }

    /// A resource by path: `names`, `versions`, `packages/NAME`.
    pub fn resource(&self, path: &str) -> Option<Arc<Resource>> {
        self.resources.read().expect("registry lock").get(path).cloned()
    }

    /// A tarball by its file name without `.tar` (`NAME-VERSION`).
    pub fn tarball(&self, stem: &str) -> Option<TarballRef> {
        self.tarballs.read().expect("registry lock").get(stem).cloned()
    }

    fn install(&self, path: String, resource: Resource) {
        self.resources.write().expect("registry lock").insert(path, Arc::new(resource));
    }

    /// Fills memory from the stored resources, and rebuilds whatever is missing or stale.
    pub async fn load(&self, db: &PgPool) -> Result<(), StorageError> {
        for stored in resources::all(db).await?.into_iter().filter(|r| r.repository_id == self.id) {
            let resource =
                Resource { body: Bytes::from(stored.body), etag: stored.etag, last_modified: stored.updated_at.into() };
            self.install(stored.path, resource);
        }
        let summaries = releases::summaries(db, self.id).await?;
        let mut names: Vec<&str> = summaries.iter().map(|s| s.package.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        for name in names {
            if self.resource(&format!("packages/{name}")).is_none() {
                self.rebuild_package(db, name).await?;
            }
        }
        let mut tarballs = HashMap::new();
        for s in summaries {
            tarballs.insert(format!("{}-{}", s.package, s.version), tarball_ref(s.outer_checksum));
        }
        *self.tarballs.write().expect("registry lock") = tarballs;
        self.rebuild_index(db).await
    }

    /// Rebuilds and signs `/packages/NAME` from the database, then swaps it in.
    pub async fn rebuild_package(&self, db: &PgPool, name: &str) -> Result<(), StorageError> {
        let _guard = self.rebuild.lock().await;
        let Some(package) = packages::get(db, self.id, name).await? else { return Ok(()) };
        let rows = releases::of_package(db, package.id).await?;
        let requirements = releases::requirements_of_package(db, package.id).await?;
        let mut entry = hexyard_registry::PackageEntry { name: name.to_owned(), releases: Vec::new() };
        let mut stems = Vec::new();
        for r in &rows {
            let (Ok(version), Ok(inner), Ok(outer)) = (
                Version::parse(&r.version),
                <[u8; 32]>::try_from(r.inner_checksum.as_slice()),
                <[u8; 32]>::try_from(r.outer_checksum.as_slice()),
            ) else {
                tracing::error!(package = name, version = r.version, "skipping a release with invalid stored data");
                continue;
            };
            let dependencies = requirements
                .iter()
                .filter(|q| q.release_id == r.id)
                .map(|q| hexyard_registry::Dependency {
                    package: q.dependency_name.clone(),
                    requirement: q.requirement.clone(),
                    optional: q.optional,
                    app: q.app.clone(),
                    repository: q.dependency_repository.clone(),
                })
                .collect();
            let retired = r.retirement_reason.as_deref().and_then(|reason| {
                Some(hexyard_registry::Retirement {
                    reason: reason.parse::<RetirementReason>().ok()?,
                    message: r.retirement_message.clone(),
                })
            });
            stems.push((format!("{name}-{}", r.version), tarball_ref(r.outer_checksum.clone())));
            entry.releases.push(hexyard_registry::Release {
                version,
                inner_checksum: inner,
                outer_checksum: outer,
                dependencies,
                retired,
                published_at: Some(r.inserted_at.into()),
            });
        }
        let body = sign_and_gzip(&build::package(&self.name, &entry), &self.key);
        self.store(db, format!("packages/{name}"), body).await?;
        let mut tarballs = self.tarballs.write().expect("registry lock");
        tarballs.retain(|stem, _| !is_release_of(stem, name));
        tarballs.extend(stems);
        Ok(())
    }

    /// Rebuilds `/names` and `/versions`.
    pub async fn rebuild_index(&self, db: &PgPool) -> Result<(), StorageError> {
        let names: Vec<hexyard_registry::NamesEntry> = packages::names(db, self.id)
            .await?
            .into_iter()
            .map(|(name, updated_at)| hexyard_registry::NamesEntry { name, updated_at: Some(updated_at.into()) })
            .collect();
        let mut by_package: HashMap<String, Vec<(Version, bool, bool)>> = HashMap::new();
        for s in releases::summaries(db, self.id).await? {
            if let Ok(v) = Version::parse(&s.version) {
                by_package.entry(s.package).or_default().push((v, s.retired, false));
            }
        }
        let versions: Vec<hexyard_registry::VersionsEntry> =
            by_package.into_iter().map(|(name, releases)| hexyard_registry::VersionsEntry { name, releases }).collect();
        let names_body = sign_and_gzip(&build::names(&self.name, &names), &self.key);
        let versions_body = sign_and_gzip(&build::versions(&self.name, &versions), &self.key);
        self.store(db, "names".to_owned(), names_body).await?;
        self.store(db, "versions".to_owned(), versions_body).await
    }

    async fn store(&self, db: &PgPool, path: String, body: Vec<u8>) -> Result<(), StorageError> {
        let now = OffsetDateTime::now_utc();
        let etag = etag_of(&body);
        let stored = resources::Resource { repository_id: self.id, path: path.clone(), body, etag, updated_at: now };
        resources::put(db, &stored).await?;
        let resource = Resource { body: Bytes::from(stored.body), etag: stored.etag, last_modified: now.into() };
        self.install(path, resource);
        Ok(())
    }

    /// Asks for `/names` and `/versions` to be rebuilt soon.
    pub fn index_changed(&self) {
        self.index_dirty.notify_one();
    }

    /// Rebuilds the index whenever it changed, at most every `delay`: a burst of publishes
    /// costs one rebuild, and each publish shows in `/versions` within about `delay`.
    pub async fn run_index_rebuilds(self: Arc<Self>, db: PgPool, delay: Duration) {
        loop {
            self.index_dirty.notified().await;
            tokio::time::sleep(delay).await;
            if let Err(e) = self.rebuild_index(&db).await {
                tracing::error!(repository = self.name, error = %e, "rebuilding names and versions failed");
                self.index_dirty.notify_one();
            }
        }
    }
}

fn tarball_ref(outer_checksum: Vec<u8>) -> TarballRef {
    let hex: String = outer_checksum.iter().map(|b| format!("{b:02x}")).collect();
    TarballRef { etag: format!("\"{hex}\""), outer_checksum }
}

/// Whether `stem` (`NAME-VERSION`) is a release of package `name`; names cannot hold `-`, so
/// the first dash ends the name.
fn is_release_of(stem: &str, name: &str) -> bool {
    stem.split_once('-').is_some_and(|(n, _)| n == name)
}

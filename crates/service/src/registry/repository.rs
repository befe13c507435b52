//! One repository's registry, served from memory: the signed, gzipped `/names`, `/versions` and
//! `/packages/NAME`, and the index of tarballs. Readers clone an `Arc` under a read lock that
//! writers hold only to swap one entry in; building and signing happen outside it, so reads
//! never wait on a publish. Each resource is also stored in Postgres so a restart serves at
//! once, without re-signing.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use hexyard_core::{RetirementReason, Version};
use hexyard_registry::{SigningKey, build, proto, sign_and_gzip, signed};
use hexyard_storage::{PgPool, StorageError, packages, releases, resources};
use time::OffsetDateTime;
use tokio::sync::{Mutex, Notify};

use super::etag_of;

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
    /// Tells this server's announcements apart from other replicas'.
    instance: String,
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
            instance: format!(
                "{}-{}",
                std::process::id(),
                SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_nanos())
            ),
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

    /// Stops serving a package's resource and tarballs.
    fn forget(&self, path: &str, name: &str) {
        self.resources.write().expect("registry lock").remove(path);
        self.tarballs.write().expect("registry lock").retain(|stem, _| !is_release_of(stem, name));
    }

    fn install(&self, path: String, resource: Resource) {
        self.resources.write().expect("registry lock").insert(path, Arc::new(resource));
    }

    /// Fills memory from the stored resources and the tarball index, then rebuilds what is
    /// missing: a package without a stored resource, and the index.
    pub async fn load(&self, db: &PgPool) -> Result<(), StorageError> {
        self.install_stored(db).await?;
        let mut names: Vec<String> = self
            .tarballs
            .read()
            .expect("registry lock")
            .keys()
            .filter_map(|stem| stem.split_once('-').map(|(name, _)| name.to_owned()))
            .collect();
        names.sort_unstable();
        names.dedup();
        for name in names {
            if self.resource(&format!("packages/{name}")).is_none() {
                self.rebuild_package(db, &name).await?;
            }
        }
        self.rebuild_index(db).await
    }

    /// Rebuilds and signs `/packages/NAME` from the database, then swaps it in.
    /// A package that no longer exists (its last release reverted) leaves: its resource and
    /// its tarballs are no longer served here, nor (through the announcement) by the replicas.
    pub async fn rebuild_package(&self, db: &PgPool, name: &str) -> Result<(), StorageError> {
        let _guard = self.rebuild.lock().await;
        let _timer = RebuildTimer::start("package");
        let path = format!("packages/{name}");
        let Some((entry, stems)) = self.package_entry(db, name).await?.filter(|(e, _)| !e.releases.is_empty()) else {
            resources::delete(db, self.id, &path).await?;
            resources::announce(db, &format!("{} {} {path}", self.instance, self.id)).await?;
            self.forget(&path, name);
            return Ok(());
        };
        let body = sign_and_gzip(&build::package(&self.name, &entry), &self.key);
        self.store(db, format!("packages/{name}"), body).await?;
        let mut tarballs = self.tarballs.write().expect("registry lock");
        tarballs.retain(|stem, _| !is_release_of(stem, name));
        tarballs.extend(stems);
        Ok(())
    }

    /// What `/packages/NAME` holds according to the database, and the package's tarballs.
    async fn package_entry(
        &self,
        db: &PgPool,
        name: &str,
    ) -> Result<Option<(hexyard_registry::PackageEntry, Vec<(String, TarballRef)>)>, StorageError> {
        let Some(package) = packages::get(db, self.id, name).await? else { return Ok(None) };
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
        Ok(Some((entry, stems)))
    }

    /// Rebuilds `/names` and `/versions`.
    pub async fn rebuild_index(&self, db: &PgPool) -> Result<(), StorageError> {
        let _timer = RebuildTimer::start("index");
        let (names, versions) = self.index_entries(db).await?;
        let names_body = sign_and_gzip(&build::names(&self.name, &names), &self.key);
        let versions_body = sign_and_gzip(&build::versions(&self.name, &versions), &self.key);
        self.store(db, "names".to_owned(), names_body).await?;
        self.store(db, "versions".to_owned(), versions_body).await
    }

    async fn index_entries(
        &self,
        db: &PgPool,
    ) -> Result<(Vec<hexyard_registry::NamesEntry>, Vec<hexyard_registry::VersionsEntry>), StorageError> {
        let names = packages::names(db, self.id)
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
        let versions =
            by_package.into_iter().map(|(name, releases)| hexyard_registry::VersionsEntry { name, releases }).collect();
        Ok((names, versions))
    }

    /// Checks every stored resource: its signature under this repository's key, its origin, and
    /// that it says what the database says. Returns one line per problem.
    pub async fn verify(&self, db: &PgPool) -> Result<Vec<String>, StorageError> {
        let key = self.key.verifying_key();
        let mut problems = Vec::new();
        let stored: HashMap<String, Vec<u8>> = resources::all(db)
            .await?
            .into_iter()
            .filter(|r| r.repository_id == self.id)
            .map(|r| (r.path, r.body))
            .collect();
        let (names, versions) = self.index_entries(db).await?;
        let mut expected = vec![
            ("names".to_owned(), Expected::Names(build::names(&self.name, &names))),
            ("versions".to_owned(), Expected::Versions(build::versions(&self.name, &versions))),
        ];
        for entry in &names {
            if let Some((package, _)) = self.package_entry(db, &entry.name).await? {
                expected.push((
                    format!("packages/{}", entry.name),
                    Expected::Package(build::package(&self.name, &package)),
                ));
            }
        }
        for (path, want) in expected {
            let Some(body) = stored.get(&path) else {
                problems.push(format!("{}: {path} is missing", self.name));
                continue;
            };
            let outcome = match &want {
                Expected::Names(want) => signed::decode_names(body, key, &self.name).map(|got| got == *want),
                Expected::Versions(want) => signed::decode_versions(body, key, &self.name).map(|got| got == *want),
                Expected::Package(want) => {
                    signed::decode_package(body, key, &self.name, &want.name).map(|got| got == *want)
                }
            };
            match outcome {
                Ok(true) => {}
                Ok(false) => problems.push(format!("{}: {path} differs from the database", self.name)),
                Err(e) => problems.push(format!("{}: {path}: {e}", self.name)),
            }
        }
        Ok(problems)
    }

    async fn store(&self, db: &PgPool, path: String, body: Vec<u8>) -> Result<(), StorageError> {
        let now = OffsetDateTime::now_utc();
        let etag = etag_of(&body);
        let stored = resources::Resource { repository_id: self.id, path: path.clone(), body, etag, updated_at: now };
        resources::put(db, &stored).await?;
        resources::announce(db, &format!("{} {} {path}", self.instance, self.id)).await?;
        let resource = Resource { body: Bytes::from(stored.body), etag: stored.etag, last_modified: now.into() };
        self.install(path, resource);
        Ok(())
    }

    /// Puts every stored resource of this repository in memory, and the tarball index with it.
    /// What is no longer stored (a package whose last release was reverted) is no longer served.
    async fn install_stored(&self, db: &PgPool) -> Result<(), StorageError> {
        let stored: HashMap<String, Arc<Resource>> = resources::all(db)
            .await?
            .into_iter()
            .filter(|r| r.repository_id == self.id)
            .map(|r| {
                let resource = Resource { body: Bytes::from(r.body), etag: r.etag, last_modified: r.updated_at.into() };
                (r.path, Arc::new(resource))
            })
            .collect();
        *self.resources.write().expect("registry lock") = stored;
        let tarballs = releases::summaries(db, self.id)
            .await?
            .into_iter()
            .map(|s| (format!("{}-{}", s.package, s.version), tarball_ref(s.outer_checksum)))
            .collect();
        *self.tarballs.write().expect("registry lock") = tarballs;
        Ok(())
    }

    /// Takes in a resource another replica stored: the bytes as stored (never re-signed here),
    /// and for a package, its tarballs.
    pub async fn reload(&self, db: &PgPool, path: &str) -> Result<(), StorageError> {
        match resources::get(db, self.id, path).await? {
            Some(stored) => {
                let resource = Resource {
                    body: Bytes::from(stored.body),
                    etag: stored.etag,
                    last_modified: stored.updated_at.into(),
                };
                self.install(stored.path, resource);
            }
            None => {
                self.resources.write().expect("registry lock").remove(path);
            }
        }
        if let Some(name) = path.strip_prefix("packages/") {
            let summaries = releases::summaries_of_package(db, self.id, name).await?;
            let mut tarballs = self.tarballs.write().expect("registry lock");
            tarballs.retain(|stem, _| !is_release_of(stem, name));
            tarballs.extend(
                summaries.into_iter().map(|s| (format!("{name}-{}", s.version), tarball_ref(s.outer_checksum))),
            );
        }
        Ok(())
    }

    /// Follows the resources other replicas store, so that every server behind one database
    /// serves the same registry.
    pub async fn follow_replicas(self: Arc<Self>, db: PgPool) {
        loop {
            if db.is_closed() {
                return; // the server is stopping
            }
            let mut listener = match resources::listen(&db).await {
                Ok(listener) => listener,
                Err(e) => {
                    tracing::error!(error = %e, "listening for registry changes failed; retrying");
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    continue;
                }
            };
            loop {
                let notification = match listener.try_recv().await {
                    Ok(Some(n)) => n,
                    // the connection dropped: what was announced meanwhile is lost, so take
                    // in everything stored; the next receive reconnects
                    Ok(None) => {
                        if let Err(e) = self.install_stored(&db).await {
                            tracing::error!(error = %e, "resynchronising the registry failed");
                        }
                        continue;
                    }
                    Err(_) if db.is_closed() => return,
                    Err(e) => {
                        tracing::warn!(error = %e, "registry change listener interrupted");
                        break;
                    }
                };
                let mut parts = notification.payload().splitn(3, ' ');
                let (Some(instance), Some(repo), Some(path)) = (parts.next(), parts.next(), parts.next()) else {
                    continue;
                };
                if instance == self.instance || repo != self.id.to_string() {
                    continue;
                }
                if let Err(e) = self.reload(&db, path).await {
                    tracing::error!(error = %e, path, "reloading a registry resource failed");
                }
            }
        }
    }

    /// Asks for `/names` and `/versions` to be rebuilt soon.
    pub fn index_changed(&self) {
        self.index_dirty.notify_one();
    }

    /// Rebuilds the index whenever it changed, after `delay`: a burst of publishes costs one
    /// rebuild. A large registry waits a little longer between rebuilds (four times the last
    /// rebuild's duration, at most 750 ms), so rebuilding never takes over the machine while
    /// each publish still shows in `/versions` within a second.
    pub async fn run_index_rebuilds(self: Arc<Self>, db: PgPool, delay: Duration) {
        let mut wait = delay;
        loop {
            self.index_dirty.notified().await;
            tokio::time::sleep(wait).await;
            let started = std::time::Instant::now();
            if let Err(e) = self.rebuild_index(&db).await {
                tracing::error!(repository = self.name, error = %e, "rebuilding names and versions failed");
                self.index_dirty.notify_one();
            }
            wait = (started.elapsed() * 4).clamp(delay, Duration::from_millis(750));
        }
    }
}

/// A resource as the database says it should read.
enum Expected {
    Names(proto::names::Names),
    Versions(proto::versions::Versions),
    Package(proto::package::Package),
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

/// Records how long a rebuild took (`hexyard_registry_rebuild_seconds{part}`) when dropped, so
/// failed rebuilds count too.
struct RebuildTimer {
    part: &'static str,
    started: std::time::Instant,
}

impl RebuildTimer {
    fn start(part: &'static str) -> RebuildTimer {
        RebuildTimer { part, started: std::time::Instant::now() }
    }
}

impl Drop for RebuildTimer {
    fn drop(&mut self) {
        metrics::histogram!("hexyard_registry_rebuild_seconds", "part" => self.part)
            .record(self.started.elapsed().as_secs_f64());
    }
}

//! The caching mirror of an upstream Hex repository (hex.pm by default), served under
//! `/mirror` byte for byte as the upstream signed it, so that clients keep verifying with the
//! upstream's own key and repository name.
//!
//! Every body is checked before it is stored or served: registry resources by signature,
//! repository and package name; tarballs by the checksum in the signed package resource; the
//! installs CSV by its detached signature. Bodies live in the blob store and their rows in
//! Postgres, so replicas share the cache; recently served ones are also kept in memory.
//! Registry resources are revalidated with the upstream's ETag once older than the configured
//! age and served stale when the upstream fails; tarballs never change once cached.
//! Concurrent misses for one path make one upstream request ([`flights`]).

mod cached;
mod flights;
mod installs;
mod meters;
pub mod sync;
mod tarballs;
mod upstream;

use std::collections::HashMap;
use std::sync::atomic::AtomicI64;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hexyard_core::{PackageName, Version};
use hexyard_registry::{VerifyingKey, proto};
use hexyard_storage::PgPool;
use hexyard_storage::blobs::BlobStore;
use hexyard_storage::mirror as rows;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::blob_cache::BudgetCache;
use cached::Cached;
pub use cached::Served;
use flights::Flights;
use meters::Meters;
pub use meters::{Status, status};
use upstream::{Answer, Upstream};

/// hex.pm's repository, as every client has it built in.
pub const HEXPM_URL: &str = "https://repo.hex.pm";

/// hex.pm's public key (<https://hex.pm/docs/public_keys>).
pub const HEXPM_PUBLIC_KEY: &str = "-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEApqREcFDt5vV21JVe2QNB
Edvzk6w36aNFhVGWN5toNJRjRJ6m4hIuG4KaXtDWVLjnvct6MYMfqhC79HAGwyF+
IqR6Q6a5bbFSsImgBJwz1oadoVKD6ZNetAuCIK84cjMrEFRkELtEIPNHblCzUkkM
3rS9+DPlnfG8hBvGi6tvQIuZmXGCxF/73hU0/MyGhbmEjIKRtG6b0sJYKelRLTPW
XgK7s5pESgiwf2YC/2MGDXjAJfpfCd0RpLdvd4eRiXtVlE9qO9bND94E7PgQ/xqZ
J1i2xWFndWa6nfFnRxZmCStCOZWYYPlaxr+FZceFbpMwzTNs4g3d4tLNUcbKAIH4
0wIDAQAB
-----END PUBLIC KEY-----
";

/// The largest registry resource taken from the upstream (hex.pm's `/versions` is a few MiB).
const MAX_RESOURCE_BYTES: usize = 64 * 1024 * 1024;
/// The largest tarball or docs tarball taken from the upstream.
const MAX_TARBALL_BYTES: usize = 128 * 1024 * 1024;
/// Memory for recently served resources and tarballs, each.
const MEMORY_BYTES: usize = 256 * 1024 * 1024;
/// How often an oversized cache is reported again.
const SIZE_WARNING_EVERY: Duration = Duration::from_secs(600);

/// How the mirror is set up.
#[derive(Debug, Clone)]
pub struct MirrorSettings {
    /// The upstream repository's URL, without a trailing slash.
    pub url: String,
    /// The upstream's public key, PEM.
    pub public_key_pem: String,
    /// The repository name the upstream's resources carry (`hexpm` for hex.pm).
    pub repository: String,
    /// Age after which a registry resource is revalidated with the upstream.
    pub max_age: Duration,
    /// Connect and read timeout of upstream requests.
    pub timeout: Duration,
    /// Serve only what is cached; never contact the upstream.
    pub offline: bool,
    /// Whether reading the mirror needs a key with `repositories` or `repository:<repository>`.
    pub auth_required: bool,
    /// The cache size past which the operator is warned; `None`: no limit.
    pub max_bytes: Option<u64>,
}

impl MirrorSettings {
    /// hex.pm with the defaults.
    pub fn hexpm() -> Self {
        MirrorSettings {
            url: HEXPM_URL.to_owned(),
            public_key_pem: HEXPM_PUBLIC_KEY.to_owned(),
            repository: hexyard_core::HEXPM.to_owned(),
            max_age: Duration::from_secs(300),
            timeout: Duration::from_secs(15),
            offline: false,
            auth_required: false,
            max_bytes: None,
        }
    }
}

/// Why the mirror cannot serve something. Cloned to every request waiting on one fetch.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MirrorError {
    /// The upstream does not have it (or the path names nothing a repository serves).
    #[error("not found")]
    NotFound,
    /// Offline, and not cached.
    #[error("{0} is not in the mirror's cache and the mirror is offline")]
    NotCached(String),
    /// The upstream failed or answered something that does not verify; nothing cached.
    #[error("upstream failed: {0}")]
    Upstream(String),
    /// The upstream did not answer in time; nothing cached.
    #[error("upstream timed out: {0}")]
    Timeout(String),
    /// Our own failure (database, blob store).
    #[error("{0}")]
    Internal(String),
}

impl From<hexyard_storage::StorageError> for MirrorError {
    fn from(e: hexyard_storage::StorageError) -> Self {
        MirrorError::Internal(crate::error::Error::from(e).chain())
    }
}

/// What an upstream path holds, and how it is verified.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Names,
    Versions,
    Package(String),
    /// `installs/hex-1.x.csv`, verified with `installs/hex-1.x.csv.signed`.
    Installs,
    /// The detached signature of the installs CSV, fetched with it.
    InstallsSignature,
    Docs(String, Version),
}

const INSTALLS_CSV: &str = "installs/hex-1.x.csv";
const INSTALLS_SIGNATURE: &str = "installs/hex-1.x.csv.signed";

impl Kind {
    fn of(path: &str) -> Option<Kind> {
        match path {
            "names" => Some(Kind::Names),
            "versions" => Some(Kind::Versions),
            INSTALLS_CSV => Some(Kind::Installs),
            INSTALLS_SIGNATURE => Some(Kind::InstallsSignature),
            _ => {
                if let Some(name) = path.strip_prefix("packages/") {
                    return Some(Kind::Package(PackageName::parse_existing(name).ok()?.as_str().to_owned()));
                }
                let stem = path.strip_prefix("docs/")?.strip_suffix(".tar.gz")?;
                let (name, version) = split_release(stem)?;
                Some(Kind::Docs(name, version))
            }
        }
    }
}

/// `NAME-VERSION` (package names hold no `-`).
fn split_release(stem: &str) -> Option<(String, Version)> {
    hexyard_core::parse_release(stem).map(|(name, version)| (name.as_str().to_owned(), version))
}

/// The mirror: its settings, the upstream, and what is cached in memory.
pub struct Mirror {
    pub settings: MirrorSettings,
    key: VerifyingKey,
    upstream: Upstream,
    db: PgPool,
    blobs: BlobStore,
    resources: BudgetCache<Arc<Cached>>,
    /// Tarballs by `NAME-VERSION`, checked against their signed release; a package's go when
    /// its resource changes.
    tarballs: BudgetCache<Served>,
    resource_flights: Flights<Arc<Cached>>,
    tarball_flights: Flights<Served>,
    /// Paths the upstream said it does not have, and when: asked again only after a while.
    missing: RwLock<HashMap<String, Instant>>,
    /// Packages whose resource was last revalidated out of turn (a release newer than the
    /// cache), and when: at most once per [`FORCED_EVERY`].
    forced: RwLock<HashMap<String, Instant>>,
    meters: Meters,
    /// What the cache holds, as far as this process knows (-1: not counted yet).
    cached_bytes: AtomicI64,
    warned_at: AtomicI64,
}

/// How long a 404 from the upstream is remembered.
const MISSING_FOR: Duration = Duration::from_secs(60);
/// How often a package's resource may be revalidated before its age is up.
const FORCED_EVERY: Duration = Duration::from_secs(30);
/// Remembered 404s and forced revalidations kept at most (then forgotten at once).
const REMEMBERED: usize = 100_000;

impl std::fmt::Debug for Mirror {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mirror").field("settings", &self.settings).finish_non_exhaustive()
    }
}

impl Mirror {
    pub fn new(settings: MirrorSettings, db: PgPool, blobs: BlobStore) -> crate::Result<Self> {
        let key = VerifyingKey::from_pem(&settings.public_key_pem)
            .map_err(|e| crate::Error::internal("reading the mirror's upstream public key", e.to_string()))?;
        let upstream = Upstream::new(&settings.url, settings.timeout)
            .map_err(|e| crate::Error::internal("setting up the mirror", e.to_string()))?;
        Ok(Mirror {
            settings,
            key,
            upstream,
            db,
            blobs,
            resources: BudgetCache::new("mirror_resources", MEMORY_BYTES),
            tarballs: BudgetCache::new("mirror_tarballs", MEMORY_BYTES),
            resource_flights: Flights::new(),
            tarball_flights: Flights::new(),
            missing: RwLock::default(),
            forced: RwLock::default(),
            meters: Meters::register(),
            cached_bytes: AtomicI64::new(-1),
            warned_at: AtomicI64::new(0),
        })
    }

    /// The upstream's public key, as configured.
    pub fn public_key_pem(&self) -> &str {
        &self.settings.public_key_pem
    }

    /// A registry resource, the installs CSV or its signature, or a docs tarball, by its path
    /// under the repository (`names`, `packages/NAME`, `docs/NAME-VER.tar.gz`, …).
    pub async fn resource(self: &Arc<Self>, path: &str) -> Result<Served, MirrorError> {
        let Some(kind) = Kind::of(path) else { return Err(MirrorError::NotFound) };
        if kind == Kind::InstallsSignature {
            return self.installs_signature().await;
        }
        if let Kind::Docs(name, version) = &kind {
            // docs only of releases the signed package resource names
            self.signed_release(name, version).await?;
        }
        let cached = self.resource_cached(path, &kind).await?;
        self.resource_from(path, kind, cached, false).await
    }

    /// The cached entry if fresh (or offline), else a revalidated or new one; the cached one,
    /// stale, when the upstream fails. `force` revalidates even a fresh entry.
    async fn resource_from(
        self: &Arc<Self>,
        path: &str,
        kind: Kind,
        cached: Option<Arc<Cached>>,
        force: bool,
    ) -> Result<Served, MirrorError> {
        if let Some(c) = &cached {
            let fresh = OffsetDateTime::now_utc() - c.checked_at < self.settings.max_age;
            if self.settings.offline || (fresh && !force) {
                self.meters.hits.increment(1);
                return Ok(c.served(false));
            }
        } else if self.settings.offline {
            return Err(MirrorError::NotCached(path.to_owned()));
        } else if self.recently_missing(path) {
            return Err(MirrorError::NotFound);
        }
        let mirror = self.clone();
        let (owned_path, previous) = (path.to_owned(), cached.clone());
        let outcome = self
            .resource_flights
            .join(path, move || async move { mirror.refresh(&owned_path, kind, previous).await })
            .await;
        match (outcome, cached) {
            (Ok(fresh), _) => Ok(fresh.served(false)),
            (Err(MirrorError::NotFound), None) => {
                self.remember(&self.missing, path);
                Err(MirrorError::NotFound)
            }
            (Err(e), Some(stale)) => {
                // a 404 or 403 for what was there is more likely a CDN or bucket hiccup than a
                // package gone: hex.pm does not remove packages
                self.meters.stale.increment(1);
                tracing::warn!(path, error = %e, "mirror: the upstream failed, serving the cached copy");
                Ok(stale.served(true))
            }
            (Err(e), None) => Err(e),
        }
    }

    fn recently_missing(&self, path: &str) -> bool {
        self.missing.read().expect("missing lock").get(path).is_some_and(|at| at.elapsed() < MISSING_FOR)
    }

    fn remember(&self, map: &RwLock<HashMap<String, Instant>>, key: &str) {
        let mut map = map.write().expect("mirror lock");
        if map.len() >= REMEMBERED {
            map.clear();
        }
        map.insert(key.to_owned(), Instant::now());
    }

    /// The cached entry of `path`: from memory, else from the database and the blob store,
    /// checked again (a body cached from another upstream, or damaged at rest, is a miss).
    async fn resource_cached(&self, path: &str, kind: &Kind) -> Result<Option<Arc<Cached>>, MirrorError> {
        if let Some(c) = self.resources.get(path.as_bytes()) {
            return Ok(Some(c));
        }
        let Some(row) = rows::resource(&self.db, path).await? else { return Ok(None) };
        let Ok(sha256) = <[u8; 32]>::try_from(row.sha256.as_slice()) else { return Ok(None) };
        let Some(body) = self.blobs.get(&rows::resource_key(&sha256)).await? else {
            // replaced by another replica since the row was read, or lost: fetched again
            tracing::info!(path, "mirror: a cached resource's blob is gone; fetching it again");
            return Ok(None);
        };
        if let Err(e) = self.check_signed(kind, &body) {
            tracing::warn!(path, error = %e, "mirror: a cached resource does not verify; fetching it again");
            return Ok(None);
        }
        let cached = Cached::new(body, sha256, row.upstream_etag, row.fetched_at, row.checked_at);
        self.resources.put(path.as_bytes(), cached.clone());
        Ok(Some(cached))
    }

    /// Asks the upstream for `path` (conditionally when cached), verifies a new body, stores it.
    async fn refresh(&self, path: &str, kind: Kind, cached: Option<Arc<Cached>>) -> Result<Arc<Cached>, MirrorError> {
        let etag = cached.as_ref().and_then(|c| c.upstream_etag.as_deref());
        let limit = if matches!(kind, Kind::Docs(..)) { MAX_TARBALL_BYTES } else { MAX_RESOURCE_BYTES };
        let answer = self.upstream.get(path, etag, limit).await.inspect_err(|e| self.upstream_failed(path, e))?;
        let now = OffsetDateTime::now_utc();
        let (body, upstream_etag) = match (answer, cached) {
            (Answer::NotModified, Some(c)) => {
                rows::touch_resource(&self.db, path, now).await?;
                self.meters.revalidated.increment(1);
                let confirmed = Arc::new(Cached {
                    body: c.body.clone(),
                    etag: c.etag.clone(),
                    last_modified: c.last_modified.clone(),
                    upstream_etag: c.upstream_etag.clone(),
                    fetched_at: c.fetched_at,
                    checked_at: now,
                });
                self.resources.put(path.as_bytes(), confirmed.clone());
                return Ok(confirmed);
            }
            (Answer::NotModified, None) => {
                let e = MirrorError::Upstream(format!("{} answered 304 to an unconditional request", path));
                self.upstream_failed(path, &e);
                return Err(e);
            }
            (Answer::Missing, _) => {
                tracing::info!(path, "mirror: the upstream does not have it");
                return Err(MirrorError::NotFound);
            }
            (Answer::Body { bytes, etag }, _) => (bytes, etag),
        };
        self.meters.upstream_bytes.increment(body.len() as u64);
        if let Err(e) = self.verify(&kind, &body).await {
            self.upstream_failed(path, &e);
            return Err(e);
        }
        let cached = self.store(path, body, upstream_etag, now).await?;
        if let Kind::Package(name) = &kind {
            // its releases may have changed (a replaced tarball): check cached ones again
            let prefix = format!("{name}-");
            self.tarballs.remove_if(|stem| stem.starts_with(prefix.as_bytes()));
        }
        self.meters.fetches.increment(1);
        self.grew(cached.body.len()).await;
        tracing::info!(path, bytes = cached.body.len(), "mirror: fetched from the upstream");
        Ok(cached)
    }

    /// Keeps a verified body: the blob, then its row (the body it replaced deleted when no
    /// other path holds it), then memory.
    async fn store(
        &self,
        path: &str,
        body: Bytes,
        upstream_etag: Option<String>,
        now: OffsetDateTime,
    ) -> Result<Arc<Cached>, MirrorError> {
        let sha256: [u8; 32] = Sha256::digest(&body).into();
        let write = crate::gc::BlobWrite::begin(&self.db).await?;
        self.blobs.put(&rows::resource_key(&sha256), body.clone()).await?;
        let row = rows::Resource {
            path: path.to_owned(),
            sha256: sha256.to_vec(),
            size: body.len() as i64,
            upstream_etag: upstream_etag.clone(),
            fetched_at: now,
            checked_at: now,
        };
        let replaced = rows::put_resource(&self.db, &row).await?;
        write.done().await;
        if let Some(old) = replaced {
            self.forget_body(&old).await;
        }
        let cached = Cached::new(body, sha256, upstream_etag, now, now);
        self.resources.put(path.as_bytes(), cached.clone());
        Ok(cached)
    }

    /// Deletes a replaced body once no resource holds it. A replica that read the old row just
    /// before finds the blob gone and fetches again; a failed delete only leaves a stray blob.
    async fn forget_body(&self, sha256: &[u8]) {
        let outcome = async {
            if !rows::resource_body_used(&self.db, sha256).await? {
                self.blobs.delete(&rows::resource_key(sha256)).await?;
            }
            Ok::<_, hexyard_storage::StorageError>(())
        }
        .await;
        if let Err(e) = outcome {
            tracing::warn!(error = %crate::Error::from(e).chain(), "mirror: deleting a replaced body failed");
        }
    }

    fn upstream_failed(&self, path: &str, e: &MirrorError) {
        if matches!(e, MirrorError::Upstream(_) | MirrorError::Timeout(_)) {
            self.meters.upstream_errors.increment(1);
            tracing::warn!(path, error = %e, "mirror: upstream request failed, nothing cached");
        }
    }

    /// The checks a stored body of a registry resource or docs tarball passes again on load.
    fn check_signed(&self, kind: &Kind, body: &[u8]) -> Result<(), MirrorError> {
        let repo = &self.settings.repository;
        let bad = |e: hexyard_registry::RegistryError| MirrorError::Upstream(format!("does not verify: {e}"));
        match kind {
            Kind::Names => hexyard_registry::decode_names(body, &self.key, repo).map(drop).map_err(bad),
            Kind::Versions => hexyard_registry::decode_versions(body, &self.key, repo).map(drop).map_err(bad),
            Kind::Package(name) => hexyard_registry::decode_package(body, &self.key, repo, name).map(drop).map_err(bad),
            // docs are not signed: the release they belong to is checked before the fetch
            Kind::Docs(..) if body.starts_with(&[0x1f, 0x8b]) => Ok(()),
            Kind::Docs(..) => Err(MirrorError::Upstream("a docs tarball that is not gzip".into())),
            // checked with their signature when served
            Kind::Installs | Kind::InstallsSignature => Ok(()),
        }
    }

    /// Checks a body from the upstream before it is kept.
    async fn verify(&self, kind: &Kind, body: &[u8]) -> Result<(), MirrorError> {
        match kind {
            Kind::Installs => {
                // the signature comes with it: fetched now, it is checked against this body
                let answer = self.upstream.get(INSTALLS_SIGNATURE, None, 64 * 1024).await?;
                let Answer::Body { bytes: signature, etag } = answer else {
                    return Err(MirrorError::Upstream("the installs CSV has no signature upstream".into()));
                };
                self.verify_installs(body, &signature)?;
                self.store(INSTALLS_SIGNATURE, signature, etag, OffsetDateTime::now_utc()).await.map(drop)
            }
            // served only as fetched with the CSV it signs
            Kind::InstallsSignature => Err(MirrorError::NotFound),
            other => self.check_signed(other, body),
        }
    }

    /// The verified package resource of `name`, decoded; `force` asks the upstream even when
    /// the cached one is fresh.
    pub async fn package(self: &Arc<Self>, name: &str, force: bool) -> Result<proto::package::Package, MirrorError> {
        let path = format!("packages/{name}");
        let Some(kind) = Kind::of(&path) else { return Err(MirrorError::NotFound) };
        let cached = self.resource_cached(&path, &kind).await?;
        let served = self.resource_from(&path, kind, cached, force).await?;
        hexyard_registry::decode_package(&served.body, &self.key, &self.settings.repository, name)
            .map_err(|e| MirrorError::Internal(format!("a cached {path} does not verify: {e}")))
    }

    /// The verified `/versions`, decoded.
    pub async fn versions(self: &Arc<Self>) -> Result<proto::versions::Versions, MirrorError> {
        let served = self.resource("versions").await?;
        hexyard_registry::decode_versions(&served.body, &self.key, &self.settings.repository)
            .map_err(|e| MirrorError::Internal(format!("the cached versions do not verify: {e}")))
    }
}

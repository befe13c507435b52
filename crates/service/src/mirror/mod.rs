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

mod flights;
pub mod sync;
mod upstream;

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use base64::Engine;
use bytes::Bytes;
use hexyard_core::{PackageName, Version};
use hexyard_registry::{VerifyingKey, proto};
use hexyard_storage::PgPool;
use hexyard_storage::blobs::BlobStore;
use hexyard_storage::mirror as rows;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::blob_cache::{BlobCache, BudgetCache, Weigh};
use flights::Flights;
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

/// A body the mirror serves, with its validators ready to be sent as they are.
#[derive(Debug, Clone)]
pub struct Served {
    pub body: Bytes,
    /// Our strong ETag of the body, quoted.
    pub etag: Bytes,
    /// When the body was fetched from the upstream, as an HTTP date.
    pub last_modified: Bytes,
    /// Whether it is past its age and the upstream could not confirm it.
    pub stale: bool,
}

/// A cached resource in memory.
#[derive(Debug)]
struct Cached {
    body: Bytes,
    sha256: [u8; 32],
    etag: Bytes,
    last_modified: Bytes,
    upstream_etag: Option<String>,
    fetched_at: OffsetDateTime,
    checked_at: OffsetDateTime,
}

impl Weigh for Cached {
    fn weight(&self) -> usize {
        self.body.len()
    }
}

impl Cached {
    fn new(
        body: Bytes,
        sha256: [u8; 32],
        upstream_etag: Option<String>,
        fetched_at: OffsetDateTime,
        checked_at: OffsetDateTime,
    ) -> Arc<Cached> {
        Arc::new(Cached {
            etag: Bytes::from(crate::registry::etag_of(&body)),
            last_modified: http_date(fetched_at),
            body,
            sha256,
            upstream_etag,
            fetched_at,
            checked_at,
        })
    }

    fn served(&self, stale: bool) -> Served {
        Served { body: self.body.clone(), etag: self.etag.clone(), last_modified: self.last_modified.clone(), stale }
    }
}

/// A cached tarball this process has checked against its signed release.
#[derive(Debug, Clone)]
struct Indexed {
    checksum: [u8; 32],
    etag: Bytes,
    last_modified: Bytes,
}

impl Indexed {
    fn new(checksum: [u8; 32], fetched_at: OffsetDateTime) -> Indexed {
        Indexed { checksum, etag: tarball_etag(&checksum), last_modified: http_date(fetched_at) }
    }

    fn served(&self, body: Bytes) -> Served {
        Served { body, etag: self.etag.clone(), last_modified: self.last_modified.clone(), stale: false }
    }
}

/// An HTTP date (RFC 9110 IMF-fixdate).
fn http_date(t: OffsetDateTime) -> Bytes {
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    let utc = t.to_offset(time::UtcOffset::UTC);
    Bytes::from(utc.format(&format).unwrap_or_default())
}

/// The mirror's meters, registered once (counting is then an atomic add). They go to whatever
/// `metrics` recorder the process installed: `hexyard serve` exports them at `/metrics`.
#[derive(Debug, Clone)]
struct Meters {
    /// Answers from the cache without asking the upstream.
    hits: metrics::Counter,
    /// Bodies fetched from the upstream (first fetches and changed resources).
    fetches: metrics::Counter,
    /// Revalidations the upstream answered 304.
    revalidated: metrics::Counter,
    /// Stale answers because the upstream failed.
    stale: metrics::Counter,
    /// Upstream failures: errors, timeouts, bodies that did not verify.
    upstream_errors: metrics::Counter,
    /// Bytes fetched from the upstream.
    upstream_bytes: metrics::Counter,
    /// What the cache holds, once counted.
    cache_bytes: metrics::Gauge,
}

impl Meters {
    fn register() -> Meters {
        use metrics::{Unit, describe_counter, describe_gauge};
        describe_counter!("hexyard_mirror_hits_total", "mirror answers from the cache, the upstream not asked");
        describe_counter!(
            "hexyard_mirror_fetches_total",
            "bodies the mirror fetched from the upstream (misses and changes)"
        );
        describe_counter!("hexyard_mirror_revalidated_total", "mirror revalidations the upstream answered 304");
        describe_counter!("hexyard_mirror_stale_total", "cached copies served because the upstream failed");
        describe_counter!(
            "hexyard_mirror_upstream_errors_total",
            "upstream failures: errors, timeouts, bodies that did not verify"
        );
        describe_counter!("hexyard_mirror_upstream_bytes_total", Unit::Bytes, "bytes fetched from the upstream");
        describe_gauge!("hexyard_mirror_cache_bytes", Unit::Bytes, "what the mirror's cache holds (once counted)");
        Meters {
            hits: metrics::counter!("hexyard_mirror_hits_total"),
            fetches: metrics::counter!("hexyard_mirror_fetches_total"),
            revalidated: metrics::counter!("hexyard_mirror_revalidated_total"),
            stale: metrics::counter!("hexyard_mirror_stale_total"),
            upstream_errors: metrics::counter!("hexyard_mirror_upstream_errors_total"),
            upstream_bytes: metrics::counter!("hexyard_mirror_upstream_bytes_total"),
            cache_bytes: metrics::gauge!("hexyard_mirror_cache_bytes"),
        }
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
    let (name, version) = stem.split_once('-')?;
    Some((PackageName::parse_existing(name).ok()?.as_str().to_owned(), Version::parse(version).ok()?))
}

/// The mirror: its settings, the upstream, and what is cached in memory.
pub struct Mirror {
    pub settings: MirrorSettings,
    key: VerifyingKey,
    upstream: Upstream,
    db: PgPool,
    blobs: BlobStore,
    resources: BudgetCache<Arc<Cached>>,
    tarballs: BlobCache,
    /// `NAME-VERSION` → outer checksum and fetch time of the cached tarballs this process has
    /// checked against the signed release; a package's entries go when its resource changes.
    tarball_index: RwLock<HashMap<String, Indexed>>,
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
            resources: BudgetCache::new(MEMORY_BYTES),
            tarballs: BlobCache::new(MEMORY_BYTES),
            tarball_index: RwLock::default(),
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
                    sha256: c.sha256,
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
            self.tarball_index.write().expect("index lock").retain(|stem, _| !stem.starts_with(&prefix));
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
        self.blobs.put(&rows::resource_key(&sha256), body.clone()).await?;
        let row = rows::Resource {
            path: path.to_owned(),
            sha256: sha256.to_vec(),
            size: body.len() as i64,
            upstream_etag: upstream_etag.clone(),
            fetched_at: now,
            checked_at: now,
        };
        if let Some(old) = rows::put_resource(&self.db, &row).await? {
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

    fn verify_installs(&self, csv: &[u8], signature: &[u8]) -> Result<(), MirrorError> {
        let text: Vec<u8> = signature.iter().copied().filter(|b| !b.is_ascii_whitespace()).collect();
        let signature = base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(|_| MirrorError::Upstream("the installs CSV signature is not base64".into()))?;
        if self.key.verify(csv, &signature) {
            Ok(())
        } else {
            Err(MirrorError::Upstream("the installs CSV signature does not verify".into()))
        }
    }

    /// The installs CSV's signature, always one that verifies the CSV served: when the two
    /// cached copies do not match (a replica replaced one), the pair is fetched again.
    async fn installs_signature(self: &Arc<Self>) -> Result<Served, MirrorError> {
        let csv = Box::pin(self.resource(INSTALLS_CSV)).await?;
        let signature = self.resource_cached(INSTALLS_SIGNATURE, &Kind::InstallsSignature).await?;
        if let Some(signature) = signature
            && self.verify_installs(&csv.body, &signature.body).is_ok()
        {
            return Ok(signature.served(csv.stale));
        }
        if self.settings.offline {
            return Err(MirrorError::NotCached(INSTALLS_SIGNATURE.to_owned()));
        }
        let cached = self.resource_cached(INSTALLS_CSV, &Kind::Installs).await?;
        let csv = self.resource_from(INSTALLS_CSV, Kind::Installs, cached, true).await?;
        match self.resource_cached(INSTALLS_SIGNATURE, &Kind::InstallsSignature).await? {
            Some(signature) if self.verify_installs(&csv.body, &signature.body).is_ok() => Ok(signature.served(false)),
            _ => Err(MirrorError::Upstream("the installs CSV and its signature do not match".into())),
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

    /// A tarball, `NAME-VERSION` (without `.tar`).
    pub async fn tarball(self: &Arc<Self>, stem: &str) -> Result<Served, MirrorError> {
        // the hot path: a tarball this process has served, still in memory
        let known = self.tarball_index.read().expect("index lock").get(stem).cloned();
        if let Some(indexed) = known
            && let Some(body) = self.tarballs.get(&indexed.checksum)
        {
            self.meters.hits.increment(1);
            return Ok(indexed.served(body));
        }
        let Some((name, version)) = split_release(stem) else { return Err(MirrorError::NotFound) };
        let stem = format!("{name}-{version}");
        if let Some(served) = self.tarball_cached(&name, &version, &stem).await? {
            self.meters.hits.increment(1);
            return Ok(served);
        }
        if self.settings.offline {
            return Err(MirrorError::NotCached(format!("tarballs/{stem}.tar")));
        }
        let mirror = self.clone();
        let key = format!("tarballs/{stem}");
        self.tarball_flights.join(&key, move || async move { mirror.fetch_tarball(&name, &version, &stem).await }).await
    }

    /// Whether a tarball is cached (for `mirror sync`).
    pub async fn has_tarball(&self, name: &str, version: &str) -> Result<bool, MirrorError> {
        let stem = format!("{name}-{version}");
        if self.tarball_index.read().expect("index lock").contains_key(&stem) {
            return Ok(true);
        }
        Ok(rows::tarball(&self.db, name, version).await?.is_some())
    }

    /// The cached tarball, if it is still the one the signed release names.
    async fn tarball_cached(
        self: &Arc<Self>,
        name: &str,
        version: &Version,
        stem: &str,
    ) -> Result<Option<Served>, MirrorError> {
        let known = self.tarball_index.read().expect("index lock").get(stem).cloned();
        let indexed = match &known {
            Some(known) => known.clone(),
            None => {
                let Some(row) = rows::tarball(&self.db, name, &version.to_string()).await? else { return Ok(None) };
                let Ok(checksum) = <[u8; 32]>::try_from(row.outer_checksum.as_slice()) else { return Ok(None) };
                let release = self.signed_release(name, version).await?;
                if release.outer_checksum.as_deref().is_some_and(|signed| signed != checksum.as_slice()) {
                    tracing::info!(tarball = stem, "mirror: the upstream replaced a cached tarball; fetching it again");
                    return Ok(None);
                }
                Indexed::new(checksum, row.fetched_at)
            }
        };
        let checksum = indexed.checksum;
        let body = match self.tarballs.get(&checksum) {
            Some(body) => body,
            None => {
                let Some(body) = self.blobs.get(&rows::tarball_key(&checksum)).await? else {
                    tracing::error!(tarball = stem, "mirror: a cached tarball's blob is missing; fetching it again");
                    self.tarball_index.write().expect("index lock").remove(stem);
                    return Ok(None);
                };
                self.tarballs.insert(&checksum, body.clone());
                body
            }
        };
        let served = indexed.served(body);
        if known.is_none() {
            self.tarball_index.write().expect("index lock").insert(stem.to_owned(), indexed);
        }
        Ok(Some(served))
    }

    async fn fetch_tarball(self: &Arc<Self>, name: &str, version: &Version, stem: &str) -> Result<Served, MirrorError> {
        // another replica may have fetched it meanwhile
        if let Some(served) = self.tarball_cached(name, version, stem).await? {
            return Ok(served);
        }
        let release = self.signed_release(name, version).await?;
        let path = format!("tarballs/{stem}.tar");
        let answer =
            self.upstream.get(&path, None, MAX_TARBALL_BYTES).await.inspect_err(|e| self.upstream_failed(&path, e))?;
        let body = match answer {
            Answer::Body { bytes, .. } => bytes,
            Answer::Missing => return Err(MirrorError::NotFound),
            Answer::NotModified => {
                let e = MirrorError::Upstream(format!("{path} answered 304 to an unconditional request"));
                self.upstream_failed(&path, &e);
                return Err(e);
            }
        };
        self.meters.upstream_bytes.increment(body.len() as u64);
        let outer: [u8; 32] = Sha256::digest(&body).into();
        if let Err(e) = check_tarball(&release, &body, &outer) {
            // a tarball replaced upstream since the package resource was cached: check it
            // against a fresh one before refusing it
            let fresh = match self.forced_release(name, version).await {
                Some(Ok(fresh)) => fresh,
                _ => {
                    self.upstream_failed(&path, &e);
                    return Err(e);
                }
            };
            if let Err(e) = check_tarball(&fresh, &body, &outer) {
                self.upstream_failed(&path, &e);
                return Err(e);
            }
        }
        self.blobs.put(&rows::tarball_key(&outer), body.clone()).await?;
        let now = OffsetDateTime::now_utc();
        let row = rows::Tarball {
            package: name.to_owned(),
            version: version.to_string(),
            outer_checksum: outer.to_vec(),
            size: body.len() as i64,
            fetched_at: now,
        };
        rows::put_tarball(&self.db, &row).await?;
        self.meters.fetches.increment(1);
        self.grew(body.len()).await;
        tracing::info!(path, bytes = body.len(), "mirror: fetched from the upstream");
        self.tarballs.insert(&outer, body.clone());
        let indexed = Indexed::new(outer, now);
        let served = indexed.served(body);
        self.tarball_index.write().expect("index lock").insert(stem.to_owned(), indexed);
        Ok(served)
    }

    /// The signed release of a tarball: from the cached package resource, or from a
    /// revalidated one when the release is newer than the cache.
    async fn signed_release(
        self: &Arc<Self>,
        name: &str,
        version: &Version,
    ) -> Result<proto::package::Release, MirrorError> {
        if let Some(release) = find_release(self.package(name, false).await?, version) {
            return Ok(release);
        }
        match self.forced_release(name, version).await {
            Some(found) => found,
            None => Err(MirrorError::NotFound),
        }
    }

    /// The release from a package resource revalidated now, unless that was done for this
    /// package within [`FORCED_EVERY`] (or the mirror is offline): `None` then.
    async fn forced_release(
        self: &Arc<Self>,
        name: &str,
        version: &Version,
    ) -> Option<Result<proto::package::Release, MirrorError>> {
        let recent = self.forced.read().expect("forced lock").get(name).is_some_and(|at| at.elapsed() < FORCED_EVERY);
        if recent || self.settings.offline {
            return None;
        }
        self.remember(&self.forced, name);
        Some(self.package(name, true).await.and_then(|p| find_release(p, version).ok_or(MirrorError::NotFound)))
    }

    /// Counts new bytes into the cache size, and warns when it is past the limit.
    async fn grew(&self, bytes: usize) {
        if self.cached_bytes.load(Ordering::Relaxed) < 0 {
            match rows::totals(&self.db).await {
                Ok(totals) => self.cached_bytes.store(totals.bytes(), Ordering::Relaxed),
                Err(e) => {
                    tracing::error!(error = %crate::Error::from(e).chain(), "mirror: counting the cache failed");
                    return;
                }
            }
        } else {
            self.cached_bytes.fetch_add(bytes as i64, Ordering::Relaxed);
        }
        let total = self.cached_bytes.load(Ordering::Relaxed);
        self.meters.cache_bytes.set(total as f64);
        let Some(max) = self.settings.max_bytes else { return };
        if total as u64 > max {
            let now = OffsetDateTime::now_utc().unix_timestamp();
            let last = self.warned_at.load(Ordering::Relaxed);
            if now - last >= SIZE_WARNING_EVERY.as_secs() as i64
                && self.warned_at.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_ok()
            {
                tracing::warn!(
                    cached_bytes = total,
                    max_bytes = max,
                    "mirror: the cache is larger than HEXYARD_MIRROR_MAX_BYTES; give it room or raise the limit"
                );
            }
        }
    }

    /// How many bytes the cache holds, as this process last counted (`None` before it counted).
    pub fn cached_bytes(&self) -> Option<u64> {
        u64::try_from(self.cached_bytes.load(Ordering::Relaxed)).ok()
    }
}

fn find_release(package: proto::package::Package, version: &Version) -> Option<proto::package::Release> {
    package.releases.into_iter().find(|r| Version::parse(&r.version).ok().as_ref() == Some(version))
}

/// A tarball's ETag: the same as `/repo` gives one, from its outer checksum.
fn tarball_etag(outer: &[u8; 32]) -> Bytes {
    Bytes::from(crate::registry::etag_of_checksum(outer))
}

/// A tarball matches its signed release: the outer checksum, or for releases the upstream
/// signed before outer checksums existed, the inner one.
fn check_tarball(release: &proto::package::Release, body: &[u8], outer: &[u8; 32]) -> Result<(), MirrorError> {
    match release.outer_checksum.as_deref() {
        Some(expected) if expected == outer.as_slice() => Ok(()),
        Some(_) => Err(MirrorError::Upstream("the tarball's checksum differs from the signed one".into())),
        None => {
            let limits = hexyard_tarball::Limits::default();
            let package = hexyard_tarball::read(body, &limits)
                .map_err(|e| MirrorError::Upstream(format!("the tarball does not read: {e}")))?;
            if package.inner_checksum.as_slice() == release.inner_checksum.as_slice() {
                Ok(())
            } else {
                Err(MirrorError::Upstream("the tarball's checksum differs from the signed one".into()))
            }
        }
    }
}

/// What the cache holds and the last `mirror sync`, from the database (shared by replicas).
#[derive(Debug, Clone)]
pub struct Status {
    pub totals: rows::Totals,
    pub last_sync: Option<rows::Sync>,
}

pub async fn status(services: &crate::Services) -> crate::Result<Status> {
    Ok(Status { totals: rows::totals(&services.db).await?, last_sync: rows::last_sync(&services.db).await? })
}

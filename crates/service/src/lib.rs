//! The use cases of hexyard, with no HTTP: publishing, accounts and keys, organizations, OAuth
//! and sessions, and the signed registry served from memory. The API, the web pages and the
//! admin commands all call these functions, never storage directly for a write; authorization
//! decisions live in [`authz`], failures in one [`Error`].

pub mod audit;
pub mod authz;
pub mod blob_cache;
pub mod browse;
pub mod docs;
pub mod downloads;
pub mod error;
pub mod gc;
pub mod keys;
pub mod lifecycle;
pub mod mail;
pub mod meters;
pub mod mirror;
pub mod oauth;
pub mod orgs;
pub mod owners;
pub mod packages;
pub mod principal;
pub mod publish;
pub mod registry;
pub mod search;
pub mod sessions;
pub mod tfa;
pub mod throttle;
pub mod users;

use std::sync::Arc;

use hexyard_auth::ServerSecret;
use hexyard_registry::SigningKey;
use hexyard_storage::PgPool;
use hexyard_storage::blobs::BlobStore;
use hexyard_tarball::Limits;

pub use error::{Error, Result};

/// The records the use cases answer with, as the API and the pages render them (they are
/// storage's rows; the HTTP crates see them only through here and never reach storage).
pub mod model {
    pub use hexyard_storage::audit::Entry;
    pub use hexyard_storage::downloads::PackageDownloads;
    pub use hexyard_storage::keys::Key;
    pub use hexyard_storage::oauth::Device;
    pub use hexyard_storage::orgs::{Member, Organization};
    pub use hexyard_storage::owners::Owner;
    pub use hexyard_storage::packages::Package;
    pub use hexyard_storage::releases::{Release, Requirement};
    pub use hexyard_storage::sessions::Session;
    pub use hexyard_storage::users::User;
}
pub use principal::{Origin, Principal};
pub use registry::{Registries, RepositoryRegistry};
pub use throttle::RateLimits;

/// Settings of the use cases.
#[derive(Debug, Clone)]
pub struct Settings {
    /// External base URL, without a trailing slash.
    pub public_url: String,
    pub limits: Limits,
    pub rate_limits: RateLimits,
    /// OAuth clients allowed to start the device flow: (client id, name shown to the user).
    pub oauth_clients: Vec<(String, String)>,
    /// How often download counts are added to the database.
    pub downloads_flush: std::time::Duration,
    /// Whether tarball downloads are counted.
    pub count_downloads: bool,
    /// The caching mirror of an upstream repository under `/mirror`; `None`: off.
    pub mirror: Option<mirror::MirrorSettings>,
}

/// The public OAuth clients every installation knows: the Hex CLI (mix) and Gleam.
pub fn default_oauth_clients() -> Vec<(String, String)> {
    vec![
        ("78ea6566-89fd-481e-a1d6-7d9d78eacca8".to_owned(), "Hex CLI".to_owned()),
        ("877731e8-cb88-45e1-9b84-9214de7da421".to_owned(), "Gleam".to_owned()),
    ]
}

/// What the use cases need to start.
#[derive(Debug)]
pub struct Init {
    pub db: PgPool,
    pub blobs: BlobStore,
    pub settings: Settings,
    /// The server secret: API keys are HMACs under it, sealed secrets use keys derived from it.
    pub secret: String,
    /// The instance's public repository and its signing key.
    pub repository: String,
    pub signing_key: SigningKey,
    pub mailer: mail::Mailer,
}

/// Everything the use cases share: the database, the blob store, secrets, the registries.
#[derive(Debug)]
pub struct Services {
    pub db: PgPool,
    pub blobs: BlobStore,
    pub settings: Settings,
    pub(crate) secret: ServerSecret,
    /// Seals TOTP secrets at rest.
    pub(crate) tfa_sealer: hexyard_totp::Sealer,
    /// Seals organizations' repository signing keys at rest.
    pub(crate) key_sealer: hexyard_totp::Sealer,
    pub mailer: mail::Mailer,
    pub registries: Registries,
    /// Recently served tarballs.
    pub tarballs: blob_cache::BlobCache,
    /// Recently served docs, unpacked.
    pub docs: docs::DocsCache,
    /// Tarball downloads not yet added to the database.
    pub downloads: Arc<downloads::Downloads>,
    /// The mirror of the upstream repository, when on.
    pub mirror: Option<Arc<mirror::Mirror>>,
    /// The home page's totals, recently counted.
    pub(crate) totals: browse::TotalsCache,
    /// Whether [`Services::start`] ran: indexes are rebuilt in the background then.
    started: std::sync::atomic::AtomicBool,
}

/// What sealed repository keys are derived for.
const REPOSITORY_KEY_PURPOSE: &[u8] = b"hexyard repository signing key";

/// How much memory recently served tarballs may take.
pub const TARBALL_CACHE_BYTES: usize = 256 * 1024 * 1024;

impl Services {
    /// Makes sure the public repository exists and sets everything up; nothing is loaded into
    /// memory and nothing runs in the background until [`Services::start`].
    /// Whether the database answers a query within `within`.
    pub async fn database_reachable(&self, within: std::time::Duration) -> bool {
        tokio::time::timeout(within, hexyard_storage::ping(&self.db)).await.is_ok_and(|r| r.is_ok())
    }

    pub async fn open(init: Init) -> Result<Services> {
        describe_meters();
        let repo = hexyard_storage::repositories::ensure(&init.db, &init.repository, true).await?;
        let public = Arc::new(RepositoryRegistry::new(repo.id, repo.name, true, init.signing_key));
        let key_sealer = hexyard_totp::Sealer::with_purpose(REPOSITORY_KEY_PURPOSE, init.secret.as_bytes());
        let downloads = Arc::new(downloads::Downloads::new(init.settings.count_downloads));
        let mirror = match &init.settings.mirror {
            Some(settings) => {
                Some(Arc::new(mirror::Mirror::new(settings.clone(), init.db.clone(), init.blobs.clone())?))
            }
            None => None,
        };
        Ok(Services {
            mirror,
            db: init.db,
            blobs: init.blobs,
            settings: init.settings,
            secret: ServerSecret::new(init.secret.as_bytes()),
            tfa_sealer: hexyard_totp::Sealer::new(init.secret.as_bytes()),
            registries: Registries::new(public),
            key_sealer,
            mailer: init.mailer,
            tarballs: blob_cache::BlobCache::new("tarballs", TARBALL_CACHE_BYTES),
            docs: docs::DocsCache::default(),
            downloads,
            totals: Default::default(),
            started: Default::default(),
        })
    }

    /// For a server: loads the public registry and starts the background work (index rebuilds,
    /// following other replicas, pruning rate-limit counters).
    pub async fn start(&self) -> Result<()> {
        let public = self.registries.public().clone();
        public.load(&self.db).await?;
        self.registries.run(public, &self.db);
        tokio::spawn(throttle::prune_forever(self.db.clone(), self.settings.rate_limits.window_seconds));
        tokio::spawn(downloads::flush_forever(self.downloads.clone(), self.db.clone(), self.settings.downloads_flush));
        self.started.store(true, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }

    /// After a change to a repository's packages: a server rebuilds `/names` and `/versions`
    /// soon (a burst of changes costs one rebuild); an admin command, which has no background
    /// work, rebuilds them now.
    pub async fn refresh_index(&self, repo: &RepositoryRegistry) -> Result<()> {
        if self.started.load(std::sync::atomic::Ordering::Relaxed) {
            repo.index_changed();
        } else {
            repo.rebuild_index(&self.db).await?;
        }
        Ok(())
    }

    /// The instance's public repository.
    pub fn public(&self) -> &Arc<RepositoryRegistry> {
        self.registries.public()
    }

    /// The repository a name means: `hexpm` (hard-coded by mix) and the public repository's own
    /// name both mean the public repository; any other name, an organization's, loaded (signed
    /// and followed) on first use. Who may see it is for [`authz`] to say.
    pub async fn repository(&self, name: Option<&str>) -> Result<Option<Arc<RepositoryRegistry>>> {
        self.registries.get(name, &self.db, &self.key_sealer).await
    }

    /// An absolute API URL.
    pub fn api_url(&self, path: &str) -> String {
        format!("{}/api{path}", self.settings.public_url)
    }
}

/// The help lines of the meters counted at their call sites.
fn describe_meters() {
    metrics::describe_counter!("hexyard_publishes_total", "releases published, by kind (new or replace)");
    metrics::describe_counter!("hexyard_docs_uploads_total", "docs tarballs uploaded");
    metrics::describe_histogram!(
        "hexyard_registry_rebuild_seconds",
        metrics::Unit::Seconds,
        "time to rebuild and sign a registry part (package or index)"
    );
}

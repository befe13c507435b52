//! What every handler shares.

use std::sync::Arc;

use hexyard_auth::ServerSecret;
use hexyard_storage::PgPool;
use hexyard_storage::blobs::BlobStore;
use hexyard_tarball::Limits;

use crate::blob_cache::BlobCache;
use crate::rate_limit::RateLimits;
use crate::registry::RepositoryRegistry;

/// Settings of the HTTP surface.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// External base URL, without a trailing slash.
    pub public_url: String,
    pub secret: ServerSecret,
    pub limits: Limits,
    pub rate_limits: RateLimits,
    /// OAuth clients allowed to start the device flow: (client id, name shown to the user).
    pub oauth_clients: Vec<(String, String)>,
}

/// The public OAuth clients every installation knows: the Hex CLI (mix) and Gleam.
pub fn default_oauth_clients() -> Vec<(String, String)> {
    vec![
        ("78ea6566-89fd-481e-a1d6-7d9d78eacca8".to_owned(), "Hex CLI".to_owned()),
        ("877731e8-cb88-45e1-9b84-9214de7da421".to_owned(), "Gleam".to_owned()),
    ]
}

/// The state behind `web::Data`.
#[derive(Debug)]
pub struct AppState {
    pub db: PgPool,
    pub blobs: BlobStore,
    pub config: ApiConfig,
    /// The instance's public repository.
    pub public: Arc<RepositoryRegistry>,
    /// Recently served tarballs.
    pub tarballs: BlobCache,
    /// Seals TOTP secrets at rest.
    pub sealer: hexyard_totp::Sealer,
    pub mailer: crate::mail::Mailer,
}

/// How much memory recently served tarballs may take.
pub const TARBALL_CACHE_BYTES: usize = 256 * 1024 * 1024;

impl AppState {
    /// The repository a `/api/repos/NAME/…` path names: `hexpm` (hard-coded by mix) and the
    /// public repository's own name both mean the public repository.
    pub fn repository(&self, name: Option<&str>) -> Option<&Arc<RepositoryRegistry>> {
        match name {
            None | Some("hexpm") => Some(&self.public),
            Some(n) if n == self.public.name => Some(&self.public),
            Some(_) => None,
        }
    }

    pub fn api_url(&self, path: &str) -> String {
        format!("{}/api{path}", self.config.public_url)
    }
}

//! What every handler shares.

use std::sync::Arc;

use hexyard_auth::ServerSecret;
use hexyard_storage::PgPool;
use hexyard_storage::blobs::BlobStore;
use hexyard_tarball::Limits;

use crate::blob_cache::BlobCache;
use crate::error::ApiError;
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
    /// Seals organizations' repository signing keys at rest.
    pub key_sealer: hexyard_totp::Sealer,
    pub mailer: crate::mail::Mailer,
    /// Organizations' repositories, loaded on first use.
    pub private: std::sync::RwLock<std::collections::HashMap<String, Arc<RepositoryRegistry>>>,
}

/// What sealed repository keys are derived for.
pub const REPOSITORY_KEY_PURPOSE: &[u8] = b"hexyard repository signing key";

/// How much memory recently served tarballs may take.
pub const TARBALL_CACHE_BYTES: usize = 256 * 1024 * 1024;

impl AppState {
    /// The repository a `/api/repos/NAME/…` path names: `hexpm` (hard-coded by mix) and the
    /// public repository's own name both mean the public repository; any other name, an
    /// organization's, loaded (and signed, and followed) on first use. Who may see it is the
    /// caller's business.
    pub async fn repository(&self, name: Option<&str>) -> Result<Option<Arc<RepositoryRegistry>>, ApiError> {
        let name = match name {
            None | Some("hexpm") => return Ok(Some(self.public.clone())),
            Some(n) if n == self.public.name => return Ok(Some(self.public.clone())),
            Some(n) => n,
        };
        if let Some(repo) = self.private.read().expect("repositories lock").get(name) {
            return Ok(Some(repo.clone()));
        }
        let Some(row) = hexyard_storage::repositories::private_by_name(&self.db, name).await? else { return Ok(None) };
        let Some(sealed) = row.signing_key_sealed else {
            tracing::error!(repository = name, "an organization's repository has no signing key");
            return Ok(None);
        };
        let pem = self.key_sealer.open(&sealed).map_err(ApiError::internal)?;
        let key = hexyard_registry::SigningKey::from_pem(&String::from_utf8_lossy(&pem)).map_err(ApiError::internal)?;
        let repo = Arc::new(RepositoryRegistry::new(row.id, row.name.clone(), false, key));
        repo.load(&self.db).await?;
        let mut private = self.private.write().expect("repositories lock");
        // a concurrent first use may have won: keep one registry per repository
        if let Some(existing) = private.get(name) {
            return Ok(Some(existing.clone()));
        }
        private.insert(row.name, repo.clone());
        drop(private);
        tokio::spawn(repo.clone().run_index_rebuilds(self.db.clone(), std::time::Duration::from_millis(200)));
        tokio::spawn(repo.clone().follow_replicas(self.db.clone()));
        Ok(Some(repo))
    }

    pub fn api_url(&self, path: &str) -> String {
        format!("{}/api{path}", self.config.public_url)
    }
}

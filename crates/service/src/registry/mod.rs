//! The signed registries: each repository's resources built, signed and served from memory
//! ([`RepositoryRegistry`]), the set of them ([`Registries`]), and their maintenance (rebuild
//! and verify every repository).

mod repository;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use hexyard_registry::SigningKey;
use hexyard_storage::{PgPool, releases, repositories};
use sha2::{Digest, Sha256};

pub use repository::{RepositoryRegistry, Resource, TarballRef};

use crate::{Error, Result, Services};

/// How long publishes are gathered before `/names` and `/versions` are rebuilt.
const INDEX_DELAY: Duration = Duration::from_millis(200);

/// A strong ETag from the bytes of a body.
pub fn etag_of(bytes: &[u8]) -> String {
    etag_of_checksum(&Sha256::digest(bytes))
}

/// The ETag of a body whose SHA-256 is known: its first 16 bytes in hex, quoted.
pub fn etag_of_checksum(sha256: &[u8]) -> String {
    let mut etag = String::with_capacity(34);
    etag.push('"');
    etag.push_str(&hexyard_tarball::hex_lower(&sha256[..16.min(sha256.len())]));
    etag.push('"');
    etag
}

/// The public repository's registry and the organizations' (loaded on first use).
#[derive(Debug)]
pub struct Registries {
    public: Arc<RepositoryRegistry>,
    private: RwLock<HashMap<String, Arc<RepositoryRegistry>>>,
}

impl Registries {
    pub fn new(public: Arc<RepositoryRegistry>) -> Self {
        Registries { public, private: RwLock::default() }
    }

    pub fn public(&self) -> &Arc<RepositoryRegistry> {
        &self.public
    }

    /// Keeps a registry current: rebuilds its index after publishes, and takes in what other
    /// replicas store.
    pub(crate) fn run(&self, repo: Arc<RepositoryRegistry>, db: &PgPool) {
        tokio::spawn(repo.clone().run_index_rebuilds(db.clone(), INDEX_DELAY));
        tokio::spawn(repo.follow_replicas(db.clone()));
    }

    pub(crate) async fn get(
        &self,
        name: Option<&str>,
        db: &PgPool,
        key_sealer: &hexyard_totp::Sealer,
    ) -> Result<Option<Arc<RepositoryRegistry>>> {
        let name = match name {
            None | Some(hexyard_core::HEXPM) => return Ok(Some(self.public.clone())),
            Some(n) if n == self.public.name => return Ok(Some(self.public.clone())),
            Some(n) => n,
        };
        if let Some(repo) = self.private.read().expect("registries lock").get(name) {
            return Ok(Some(repo.clone()));
        }
        let Some(row) = repositories::private_by_name(db, name).await? else { return Ok(None) };
        let repo = Arc::new(private_registry(row, key_sealer)?);
        repo.load(db).await?;
        let mut private = self.private.write().expect("registries lock");
        // a concurrent first use may have won: keep one registry per repository
        if let Some(existing) = private.get(name) {
            return Ok(Some(existing.clone()));
        }
        private.insert(repo.name.clone(), repo.clone());
        drop(private);
        self.run(repo.clone(), db);
        Ok(Some(repo))
    }
}

/// An organization's registry, its signing key unsealed.
fn private_registry(
    row: repositories::PrivateRepository,
    key_sealer: &hexyard_totp::Sealer,
) -> Result<RepositoryRegistry> {
    let missing = || Error::internal("an organization's repository has no signing key", row.name.clone());
    let sealed = row.signing_key_sealed.as_deref().ok_or_else(missing)?;
    let pem = key_sealer.open(sealed).map_err(|e| Error::internal("unsealing a repository key", e.to_string()))?;
    let key = SigningKey::from_pem(&String::from_utf8_lossy(&pem))
        .map_err(|e| Error::internal("reading a repository key", e.to_string()))?;
    Ok(RepositoryRegistry::new(row.id, row.name, false, key))
}

/// Every repository's registry, fresh (not the served ones): the public first.
async fn all(services: &Services) -> Result<Vec<Arc<RepositoryRegistry>>> {
    let mut all = vec![services.public().clone()];
    for row in repositories::private_all(&services.db).await? {
        all.push(Arc::new(private_registry(row, &services.key_sealer)?));
    }
    Ok(all)
}

/// Re-signs every resource of every repository from the database; running servers take the
/// new ones in through the announcements. Returns each repository with its package count.
pub async fn rebuild_all(services: &Services) -> Result<Vec<(String, usize)>> {
    let mut done = Vec::new();
    for registry in all(services).await? {
        let mut names: Vec<String> =
            releases::summaries(&services.db, registry.id).await?.into_iter().map(|s| s.package).collect();
        names.sort_unstable();
        names.dedup();
        for name in &names {
            registry.rebuild_package(&services.db, name).await?;
        }
        registry.rebuild_index(&services.db).await?;
        done.push((registry.name.clone(), names.len()));
    }
    Ok(done)
}

/// Checks every stored resource of every repository; one line per problem, and the names of
/// the repositories that verify.
pub async fn verify_all(services: &Services) -> Result<(Vec<String>, Vec<String>)> {
    let (mut problems, mut clean) = (Vec::new(), Vec::new());
    for registry in all(services).await? {
        let found = registry.verify(&services.db).await?;
        if found.is_empty() {
            clean.push(registry.name.clone());
        }
        problems.extend(found);
    }
    Ok((problems, clean))
}

/// A tarball's bytes: from memory when recently served, else from the blob store (and kept).
/// `None` when the blob is missing, which is logged: a release never names a missing tarball.
pub async fn tarball_bytes(services: &Services, tarball: &TarballRef) -> Result<Option<bytes::Bytes>> {
    if let Some(bytes) = services.tarballs.get(&tarball.outer_checksum) {
        return Ok(Some(bytes));
    }
    let key = hexyard_storage::blobs::tarball_key(&tarball.outer_checksum);
    let Some(bytes) = services.blobs.get(&key).await? else {
        tracing::error!(blob = key, "a release's tarball is missing from the blob store");
        return Ok(None);
    };
    services.tarballs.insert(&tarball.outer_checksum, bytes.clone());
    Ok(Some(bytes))
}

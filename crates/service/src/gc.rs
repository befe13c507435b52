//! Crash-safe blobs. A blob is written before the row that refers to it commits (a release
//! never names a tarball that is not there), so a crash between the two leaves a blob nothing
//! refers to, and a crash during a local write leaves a half-written `KEY#N` file. Writers hold
//! the blob lock shared from before the write until their row commits ([`BlobWrite`]); the
//! collector takes it exclusively, so it never sees a write under way: every blob then
//! unreferenced is a leftover, removed at start-up, every hour, and by `hexyard registry gc`.
//! The same lock guards the removal of a blob a change stopped using (a replaced or reverted
//! release), which would otherwise race with a publish of the same bytes.

use std::collections::BTreeSet;
use std::time::Duration;

use hexyard_storage::blob_refs::BlobLock;
use hexyard_storage::blobs::Listed;

use crate::{Error, Result, Services};

/// How often a server collects leftovers (and once at start-up).
pub const SWEEP_EVERY: Duration = Duration::from_secs(3600);

/// A blob write under way: the blob lock held shared until [`BlobWrite::done`] (dropped
/// without it, the lock goes with its connection).
#[derive(Debug)]
pub struct BlobWrite(BlobLock);

impl BlobWrite {
    /// Waits for a collection under way, then holds off the next one.
    pub async fn begin(db: &hexyard_storage::PgPool) -> Result<BlobWrite, hexyard_storage::StorageError> {
        Ok(BlobWrite(BlobLock::shared(db).await?))
    }

    /// The row is committed (or the write abandoned): collections may run again.
    pub async fn done(self) {
        self.0.release().await;
    }
}

/// What is in the blob store and not referred to.
#[derive(Debug, Default)]
pub struct Orphans {
    /// Blobs no committed row refers to.
    pub blobs: Vec<Listed>,
    /// Half-written files of a local store.
    pub staging: Vec<std::path::PathBuf>,
    /// Tarballs and docs the database refers to that the store does not have.
    pub missing: Vec<String>,
}

impl Orphans {
    pub fn is_empty(&self) -> bool {
        self.blobs.is_empty() && self.staging.is_empty()
    }
}

/// Finds the leftovers, and with `remove` removes them, holding the blob lock exclusively (so
/// no write is under way while it decides).
pub async fn collect(services: &Services, remove: bool) -> Result<Orphans> {
    let listed = services.blobs.list().await?;
    let mut lock = BlobLock::exclusive(&services.db).await?;
    let outcome = async {
        let (required, cache) = lock.referenced().await?;
        let referenced: BTreeSet<&String> = required.iter().chain(cache.iter()).collect();
        let present: BTreeSet<&str> = listed.iter().map(|b| b.key.as_str()).collect();
        let missing = required.iter().filter(|k| !present.contains(k.as_str())).cloned().collect();
        let orphans = Orphans {
            blobs: listed.iter().filter(|b| !referenced.contains(&b.key)).cloned().collect(),
            staging: services.blobs.staging_files(),
            missing,
        };
        if remove {
            for blob in &orphans.blobs {
                services.blobs.delete(&blob.key).await?;
            }
            for file in &orphans.staging {
                if let Err(e) = std::fs::remove_file(file)
                    && e.kind() != std::io::ErrorKind::NotFound
                {
                    return Err(Error::internal("removing a half-written blob", e));
                }
            }
        }
        Ok(orphans)
    }
    .await;
    lock.release().await;
    outcome
}

/// Removes a tarball no release uses any more (after a replace, a revert or a failed
/// publish), under the blob lock: a publish of the same bytes under way keeps it.
pub async fn remove_tarball_if_unused(services: &Services, outer_checksum: &[u8]) -> Result<()> {
    let lock = BlobLock::exclusive(&services.db).await?;
    let outcome = async {
        if !hexyard_storage::releases::checksum_in_use(&services.db, outer_checksum).await? {
            services.blobs.delete(&hexyard_storage::blobs::tarball_key(outer_checksum)).await?;
        }
        Ok(())
    }
    .await;
    lock.release().await;
    outcome
}

/// At start-up and then every [`SWEEP_EVERY`]: leftovers removed, and said in the log.
pub async fn sweep_forever(services: std::sync::Arc<Services>) {
    loop {
        match collect(&services, true).await {
            Ok(orphans) if !orphans.is_empty() => tracing::warn!(
                blobs = orphans.blobs.len(),
                staging = orphans.staging.len(),
                "removed blobs that no release, docs or cache entry refers to (left by a crash)"
            ),
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e.chain(), "collecting unreferenced blobs failed"),
        }
        tokio::time::sleep(SWEEP_EVERY).await;
    }
}

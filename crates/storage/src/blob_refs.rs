//! Which blobs the database refers to, and the lock that keeps removing unreferenced blobs
//! from racing with writes about to commit a reference.

use std::collections::BTreeSet;

use crate::{Result, blobs, mirror};

/// The blob keys the database refers to: tarballs and docs (which must be there), and the
/// mirror's cache (which the upstream could fill again).
pub async fn referenced(conn: &mut sqlx::PgConnection) -> Result<(BTreeSet<String>, BTreeSet<String>)> {
    let mut required = BTreeSet::new();
    let tarballs: Vec<Vec<u8>> =
        sqlx::query_scalar("SELECT DISTINCT outer_checksum FROM releases").fetch_all(&mut *conn).await?;
    required.extend(tarballs.iter().map(|c| blobs::tarball_key(c)));
    let docs: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT p.repository_id, p.name, r.version FROM releases r JOIN packages p ON p.id = r.package_id \
         WHERE r.has_docs",
    )
    .fetch_all(&mut *conn)
    .await?;
    required.extend(docs.iter().map(|(repo, package, version)| blobs::docs_key(*repo, package, version)));
    let mut cache = BTreeSet::new();
    let resources: Vec<Vec<u8>> =
        sqlx::query_scalar("SELECT sha256 FROM mirror_resources").fetch_all(&mut *conn).await?;
    cache.extend(resources.iter().map(|c| mirror::resource_key(c)));
    let cached: Vec<Vec<u8>> =
        sqlx::query_scalar("SELECT outer_checksum FROM mirror_tarballs").fetch_all(&mut *conn).await?;
    cache.extend(cached.iter().map(|c| mirror::tarball_key(c)));
    Ok((required, cache))
}

/// The advisory lock that orders blob writes (shared: a write until its row commits) against
/// the removal of unreferenced blobs (exclusive), so that a removal never takes a blob a write
/// is about to commit a reference to.
const BLOB_LOCK: i64 = 0x6865_7879_6172_6462; // "hexyardb"

/// The blob lock, held on a connection of its own until released (or, if dropped unreleased,
/// until that connection closes, which ends its session and the lock with it).
#[derive(Debug)]
pub struct BlobLock {
    conn: Option<sqlx::pool::PoolConnection<sqlx::Postgres>>,
    exclusive: bool,
}

impl BlobLock {
    /// Shared, for a write: waits for a removal under way.
    pub async fn shared(pool: &sqlx::PgPool) -> Result<BlobLock> {
        Self::take(pool, false).await
    }

    /// Exclusive, for a removal: waits for the writes under way.
    pub async fn exclusive(pool: &sqlx::PgPool) -> Result<BlobLock> {
        Self::take(pool, true).await
    }

    async fn take(pool: &sqlx::PgPool, exclusive: bool) -> Result<BlobLock> {
        let mut conn = pool.acquire().await?;
        let sql = if exclusive { "SELECT pg_advisory_lock($1)" } else { "SELECT pg_advisory_lock_shared($1)" };
        sqlx::query(sql).bind(BLOB_LOCK).execute(&mut *conn).await?;
        Ok(BlobLock { conn: Some(conn), exclusive })
    }

    /// The blob keys the database refers to, read while the lock is held.
    pub async fn referenced(&mut self) -> Result<(BTreeSet<String>, BTreeSet<String>)> {
        let conn = self.conn.as_mut().expect("a held lock has its connection");
        referenced(conn).await
    }

    pub async fn release(mut self) {
        if let Some(mut conn) = self.conn.take() {
            let sql =
                if self.exclusive { "SELECT pg_advisory_unlock($1)" } else { "SELECT pg_advisory_unlock_shared($1)" };
            if sqlx::query(sql).bind(BLOB_LOCK).execute(&mut *conn).await.is_err() {
                drop(conn.detach());
            }
        }
    }
}

impl Drop for BlobLock {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            drop(conn.detach());
        }
    }
}

//! The blob store: tarballs (and, later, docs) over `object_store`, the local filesystem by
//! default. Keys are derived from content checksums, never from user input, so a blob can
//! only ever land inside the store, and a replaced tarball never overwrites the bytes a
//! committed release still points at.

use std::sync::Arc;

use bytes::Bytes;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectStore, PutPayload};

use crate::{Result, StorageError};

/// Where blobs live.
#[derive(Debug, Clone)]
pub struct BlobStore {
    store: Arc<dyn ObjectStore>,
}

impl BlobStore {
    /// The store named by `HEXYARD_BLOB_STORE` (`file:///path`), or a directory.
    pub fn open(url: Option<&str>, default_dir: &std::path::Path) -> Result<Self> {
        match url {
            None => Self::local(default_dir),
            Some(url) => match url.strip_prefix("file://") {
                Some(path) => Self::local(std::path::Path::new(path)),
                None if url.starts_with("s3://") => Err(StorageError::BlobConfig(
                    "s3:// blob stores are not supported by this build yet; use file:///path".into(),
                )),
                None => Err(StorageError::BlobConfig(format!("unsupported blob store {url:?}, expected file:///path"))),
            },
        }
    }

    /// A store in a local directory, created when missing.
    pub fn local(dir: &std::path::Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| StorageError::BlobConfig(format!("{}: {e}", dir.display())))?;
        Ok(BlobStore { store: Arc::new(LocalFileSystem::new_with_prefix(dir)?) })
    }

    pub async fn put(&self, key: &str, bytes: Bytes) -> Result<()> {
        self.store.put(&Path::from(key), PutPayload::from(bytes)).await?;
        Ok(())
    }

    pub async fn get(&self, key: &str) -> Result<Option<Bytes>> {
        match self.store.get(&Path::from(key)).await {
            Ok(result) => Ok(Some(result.bytes().await?)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn delete(&self, key: &str) -> Result<()> {
        match self.store.delete(&Path::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

/// The key of a package tarball: its outer checksum.
pub fn tarball_key(outer_checksum: &[u8]) -> String {
    let hex = hex_lower(outer_checksum);
    format!("tarballs/{}/{hex}.tar", &hex[..2])
}

/// The key of a release's docs tarball, from names the server validated (a package name and a
/// version hold no `/` and no `..`), under its repository.
pub fn docs_key(repository_id: i64, package: &str, version: &str) -> String {
    format!("docs/{repository_id}/{package}/{package}-{version}.tar.gz")
}

/// Bytes as lowercase hexadecimal, as blob keys spell checksums.
pub(crate) fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

//! The blob store: tarballs, docs and the mirror's cache over `object_store`, the local
//! filesystem by default, or an S3-compatible bucket. Keys are derived from content checksums, never from user input, so a blob can
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
    /// The directory of a local store, where a crash can leave a half-written `KEY#N` file
    /// (object_store writes a staging file and renames it) that listing does not show.
    local_root: Option<std::path::PathBuf>,
}

/// A blob as listed.
#[derive(Debug, Clone)]
pub struct Listed {
    pub key: String,
    pub size: u64,
}

/// The prefixes under which the server keeps blobs.
pub const PREFIXES: [&str; 3] = ["tarballs/", "docs/", "mirror/"];

impl BlobStore {
    /// The store named by `HEXYARD_BLOB_STORE` (`file:///path` or `s3://bucket/prefix`), or a
    /// directory.
    pub fn open(url: Option<&str>, default_dir: &std::path::Path) -> Result<Self> {
        match url {
            None => Self::local(default_dir),
            Some(url) => {
                if let Some(path) = url.strip_prefix("file://") {
                    Self::local(std::path::Path::new(path))
                } else if let Some(rest) = url.strip_prefix("s3://") {
                    Self::s3(rest)
                } else {
                    Err(StorageError::BlobConfig(format!(
                        "unsupported blob store {url:?}, expected file:///path or s3://bucket/prefix"
                    )))
                }
            }
        }
    }

    /// A bucket (and a prefix in it) of an S3-compatible store, configured by the usual
    /// `AWS_*` variables: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, and
    /// `AWS_ENDPOINT_URL` for a store other than AWS's (MinIO, Garage, Ceph, R2), addressed
    /// path-style unless `AWS_VIRTUAL_HOSTED_STYLE_REQUEST=true`.
    fn s3(bucket_and_prefix: &str) -> Result<Self> {
        let (bucket, prefix) = bucket_and_prefix.split_once('/').unwrap_or((bucket_and_prefix, ""));
        if bucket.is_empty() {
            return Err(StorageError::BlobConfig("s3:// needs a bucket: s3://bucket or s3://bucket/prefix".into()));
        }
        let mut builder = object_store::aws::AmazonS3Builder::from_env().with_bucket_name(bucket);
        let endpoint = std::env::var("AWS_ENDPOINT_URL").or_else(|_| std::env::var("AWS_ENDPOINT")).unwrap_or_default();
        if endpoint.starts_with("http://") {
            // a store on a private network or this machine, as the operator asked
            builder = builder.with_allow_http(true);
        }
        if std::env::var("AWS_REGION").is_err() && std::env::var("AWS_DEFAULT_REGION").is_err() {
            builder = builder.with_region("us-east-1");
        }
        let store = builder.build().map_err(|e| StorageError::BlobConfig(format!("s3://{bucket_and_prefix}: {e}")))?;
        let prefix = prefix.trim_matches('/');
        let store: Arc<dyn ObjectStore> = if prefix.is_empty() {
            Arc::new(store)
        } else {
            Arc::new(object_store::prefix::PrefixStore::new(store, prefix))
        };
        Ok(BlobStore { store, local_root: None })
    }

    /// A store in a local directory, created when missing.
    pub fn local(dir: &std::path::Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| StorageError::BlobConfig(format!("{}: {e}", dir.display())))?;
        let store = LocalFileSystem::new_with_prefix(dir)?;
        Ok(BlobStore { store: Arc::new(store), local_root: Some(dir.to_path_buf()) })
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

    /// Every blob under the server's prefixes.
    pub async fn list(&self) -> Result<Vec<Listed>> {
        use futures_util::TryStreamExt;
        let mut all = Vec::new();
        for prefix in PREFIXES {
            let prefix = Path::from(prefix.trim_end_matches('/'));
            let mut listing = self.store.list(Some(&prefix));
            while let Some(meta) = listing.try_next().await? {
                all.push(Listed { key: meta.location.to_string(), size: meta.size });
            }
        }
        Ok(all)
    }

    /// The staging files (`KEY#N`) of a local store: writes that never finished. Only a caller
    /// that knows no write is under way may take them for leftovers.
    pub fn staging_files(&self) -> Vec<std::path::PathBuf> {
        fn walk(dir: &std::path::Path, found: &mut Vec<std::path::PathBuf>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, found);
                } else if let Some(name) = path.file_name().and_then(|n| n.to_str())
                    && let Some((_, suffix)) = name.rsplit_once('#')
                    && !suffix.is_empty()
                    && suffix.bytes().all(|b| b.is_ascii_digit())
                {
                    found.push(path);
                }
            }
        }
        let mut found = Vec::new();
        if let Some(root) = &self.local_root {
            for prefix in PREFIXES {
                walk(&root.join(prefix), &mut found);
            }
        }
        found
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

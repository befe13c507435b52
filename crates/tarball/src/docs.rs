//! Docs tarballs: a gzipped tar of the HTML documentation, checked before it is stored.

use crate::read::walk_gzipped_tar;
use crate::{ContentEntry, Limits, TarballError};

/// Validates a docs tarball (gzip, tar, sizes, safe names, regular files and directories only)
/// and lists its entries.
pub fn validate(bytes: &[u8], limits: &Limits) -> Result<Vec<ContentEntry>, TarballError> {
    if bytes.is_empty() {
        return Err(TarballError::Empty);
    }
    if bytes.len() as u64 > limits.max_tarball_size {
        return Err(TarballError::TooBig);
    }
    walk_gzipped_tar(bytes, limits, TarballError::InvalidTar)
}

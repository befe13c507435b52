//! What the mirror keeps in memory and answers with: bodies with their validators made once.

use std::sync::Arc;

use bytes::Bytes;
use time::OffsetDateTime;

use crate::blob_cache::Weigh;

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
pub(super) struct Cached {
    pub(super) body: Bytes,
    pub(super) etag: Bytes,
    pub(super) last_modified: Bytes,
    pub(super) upstream_etag: Option<String>,
    pub(super) fetched_at: OffsetDateTime,
    pub(super) checked_at: OffsetDateTime,
}

impl Weigh for Cached {
    fn weight(&self) -> usize {
        self.body.len()
    }
}

impl Cached {
    pub(super) fn new(
        body: Bytes,
        sha256: [u8; 32],
        upstream_etag: Option<String>,
        fetched_at: OffsetDateTime,
        checked_at: OffsetDateTime,
    ) -> Arc<Cached> {
        Arc::new(Cached {
            // the checksum is known: the body is not hashed again
            etag: Bytes::from(crate::registry::etag_of_checksum(&sha256)),
            last_modified: http_date(fetched_at),
            body,
            upstream_etag,
            fetched_at,
            checked_at,
        })
    }

    pub(super) fn served(&self, stale: bool) -> Served {
        Served { body: self.body.clone(), etag: self.etag.clone(), last_modified: self.last_modified.clone(), stale }
    }
}

impl Weigh for Served {
    fn weight(&self) -> usize {
        self.body.len()
    }
}

/// A tarball as served: its ETag from its outer checksum, as `/repo` makes one.
pub(super) fn tarball_served(body: Bytes, outer: &[u8; 32], fetched_at: OffsetDateTime) -> Served {
    Served {
        body,
        etag: Bytes::from(crate::registry::etag_of_checksum(outer)),
        last_modified: http_date(fetched_at),
        stale: false,
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

//! The mirror's meters, and what its cache holds: the size this process counts (warned about
//! past the limit) and the totals in the database.

use std::sync::atomic::Ordering;

use hexyard_storage::mirror as rows;
use time::OffsetDateTime;

use super::{Mirror, SIZE_WARNING_EVERY};

/// The mirror's meters, registered once (counting is then an atomic add). They go to whatever
/// `metrics` recorder the process installed: `hexyard serve` exports them at `/metrics`.
#[derive(Debug, Clone)]
pub(super) struct Meters {
    /// Answers from the cache without asking the upstream.
    pub(super) hits: crate::meters::LocalCounter,
    /// Bodies fetched from the upstream (first fetches and changed resources).
    pub(super) fetches: metrics::Counter,
    /// Revalidations the upstream answered 304.
    pub(super) revalidated: metrics::Counter,
    /// Stale answers because the upstream failed.
    pub(super) stale: metrics::Counter,
    /// Upstream failures: errors, timeouts, bodies that did not verify.
    pub(super) upstream_errors: metrics::Counter,
    /// Bytes fetched from the upstream.
    pub(super) upstream_bytes: metrics::Counter,
    /// What the cache holds, once counted.
    pub(super) cache_bytes: metrics::Gauge,
}

impl Meters {
    pub(super) fn register() -> Meters {
        use metrics::{Unit, describe_counter, describe_gauge};
        describe_counter!("hexyard_mirror_hits_total", "mirror answers from the cache, the upstream not asked");
        describe_counter!(
            "hexyard_mirror_fetches_total",
            "bodies the mirror fetched from the upstream (misses and changes)"
        );
        describe_counter!("hexyard_mirror_revalidated_total", "mirror revalidations the upstream answered 304");
        describe_counter!("hexyard_mirror_stale_total", "cached copies served because the upstream failed");
        describe_counter!(
            "hexyard_mirror_upstream_errors_total",
            "upstream failures: errors, timeouts, bodies that did not verify"
        );
        describe_counter!("hexyard_mirror_upstream_bytes_total", Unit::Bytes, "bytes fetched from the upstream");
        describe_gauge!("hexyard_mirror_cache_bytes", Unit::Bytes, "what the mirror's cache holds (once counted)");
        Meters {
            hits: crate::meters::LocalCounter::new(metrics::counter!("hexyard_mirror_hits_total")),
            fetches: metrics::counter!("hexyard_mirror_fetches_total"),
            revalidated: metrics::counter!("hexyard_mirror_revalidated_total"),
            stale: metrics::counter!("hexyard_mirror_stale_total"),
            upstream_errors: metrics::counter!("hexyard_mirror_upstream_errors_total"),
            upstream_bytes: metrics::counter!("hexyard_mirror_upstream_bytes_total"),
            cache_bytes: metrics::gauge!("hexyard_mirror_cache_bytes"),
        }
    }
}

impl Mirror {
    /// Counts new bytes into the cache size, and warns when it is past the limit.
    pub(super) async fn grew(&self, bytes: usize) {
        if self.cached_bytes.load(Ordering::Relaxed) < 0 {
            match rows::totals(&self.db).await {
                Ok(totals) => self.cached_bytes.store(totals.bytes(), Ordering::Relaxed),
                Err(e) => {
                    tracing::error!(error = %crate::Error::from(e).chain(), "mirror: counting the cache failed");
                    return;
                }
            }
        } else {
            self.cached_bytes.fetch_add(bytes as i64, Ordering::Relaxed);
        }
        let total = self.cached_bytes.load(Ordering::Relaxed);
        self.meters.cache_bytes.set(total as f64);
        let Some(max) = self.settings.max_bytes else { return };
        if total as u64 > max {
            let now = OffsetDateTime::now_utc().unix_timestamp();
            let last = self.warned_at.load(Ordering::Relaxed);
            if now - last >= SIZE_WARNING_EVERY.as_secs() as i64
                && self.warned_at.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_ok()
            {
                tracing::warn!(
                    cached_bytes = total,
                    max_bytes = max,
                    "mirror: the cache is larger than HEXYARD_MIRROR_MAX_BYTES; give it room or raise the limit"
                );
            }
        }
    }
}

/// What the cache holds and the last `mirror sync`, from the database (shared by replicas).
#[derive(Debug, Clone)]
pub struct Status {
    pub totals: rows::Totals,
    pub last_sync: Option<rows::Sync>,
}

pub async fn status(services: &crate::Services) -> crate::Result<Status> {
    Ok(Status { totals: rows::totals(&services.db).await?, last_sync: rows::last_sync(&services.db).await? })
}

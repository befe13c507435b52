//! Counting tarball downloads: in memory on the hot path (a lock and a counter, never a query),
//! added to Postgres in batches every few seconds and when the server stops. Each server adds
//! its own counts, so replicas sum up; a crash loses at most the counts since the last batch.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use hexyard_storage::PgPool;
use hexyard_storage::downloads::{self, Counted};

use crate::Result;

/// How often counts are added to the database by default: what a crash may lose.
pub const FLUSH_EVERY: Duration = Duration::from_secs(5);

/// Downloads since the last batch, by repository and tarball (`NAME-VERSION`).
#[derive(Debug)]
pub struct Downloads {
    counting: bool,
    pending: Mutex<HashMap<i64, HashMap<String, i64>>>,
    /// One batch at a time: the last one, at shutdown, waits for one under way.
    flushing: tokio::sync::Mutex<()>,
    /// `hexyard_downloads_total`: tarballs served (counted or not).
    served: crate::meters::LocalCounter,
}

impl Default for Downloads {
    fn default() -> Self {
        Downloads::new(true)
    }
}

impl Downloads {
    /// Counts downloads, or (`counting` false) ignores them.
    pub fn new(counting: bool) -> Self {
        metrics::describe_counter!("hexyard_downloads_total", "package tarballs served from the repositories");
        Downloads {
            counting,
            pending: Mutex::default(),
            flushing: tokio::sync::Mutex::new(()),
            served: crate::meters::LocalCounter::new(metrics::counter!("hexyard_downloads_total")),
        }
    }

    /// Counts one download of a tarball.
    pub fn record(&self, repository_id: i64, stem: &str) {
        self.served.increment(1);
        if !self.counting {
            return;
        }
        let mut pending = self.pending.lock().expect("downloads lock");
        let of_repository = pending.entry(repository_id).or_default();
        match of_repository.get_mut(stem) {
            Some(n) => *n += 1,
            None => {
                of_repository.insert(stem.to_owned(), 1);
            }
        }
    }

    /// Takes the counts so far, as a batch.
    fn take(&self) -> Vec<Counted> {
        let pending = std::mem::take(&mut *self.pending.lock().expect("downloads lock"));
        pending
            .into_iter()
            .flat_map(|(repository_id, counts)| {
                counts.into_iter().filter_map(move |(stem, downloads)| {
                    // names have no '-': the first one ends the name
                    let (package, version) = stem.split_once('-')?;
                    Some(Counted { repository_id, package: package.to_owned(), version: version.to_owned(), downloads })
                })
            })
            .collect()
    }

    /// Puts back a batch the database did not take.
    fn restore(&self, batch: Vec<Counted>) {
        let mut pending = self.pending.lock().expect("downloads lock");
        for c in batch {
            *pending.entry(c.repository_id).or_default().entry(format!("{}-{}", c.package, c.version)).or_default() +=
                c.downloads;
        }
    }

    /// Adds the counts so far to the database; kept for the next try when it fails.
    pub async fn flush(&self, db: &PgPool) -> Result<()> {
        let _one_at_a_time = self.flushing.lock().await;
        let batch = self.take();
        if batch.is_empty() {
            return Ok(());
        }
        if let Err(e) = downloads::add(db, &batch).await {
            self.restore(batch);
            return Err(e.into());
        }
        Ok(())
    }
}

/// Adds the counts to the database every `period`, for a server's life.
pub(crate) async fn flush_forever(downloads: std::sync::Arc<Downloads>, db: PgPool, period: Duration) {
    let mut every = tokio::time::interval(period);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        if let Err(e) = downloads.flush(&db).await {
            tracing::warn!(error = %e.chain(), "adding download counts failed; kept for the next try");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_add_up_by_release_and_survive_a_failed_batch() {
        let downloads = Downloads::default();
        for stem in ["plug-1.0.0", "plug-1.0.0", "plug-1.1.0-rc.1", "plug-1.0.0"] {
            downloads.record(1, stem);
        }
        downloads.record(2, "plug-1.0.0");
        let mut batch = downloads.take();
        batch.sort_by(|a, b| (a.repository_id, &a.version).cmp(&(b.repository_id, &b.version)));
        let seen: Vec<(i64, &str, &str, i64)> =
            batch.iter().map(|c| (c.repository_id, c.package.as_str(), c.version.as_str(), c.downloads)).collect();
        assert_eq!(seen, [(1, "plug", "1.0.0", 3), (1, "plug", "1.1.0-rc.1", 1), (2, "plug", "1.0.0", 1)]);
        assert!(downloads.take().is_empty(), "taken once");
        downloads.record(1, "plug-1.0.0");
        downloads.restore(batch);
        let again: i64 =
            downloads.take().iter().filter(|c| c.repository_id == 1 && c.version == "1.0.0").map(|c| c.downloads).sum();
        assert_eq!(again, 4);
    }
}

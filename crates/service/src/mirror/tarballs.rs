//! Tarballs through the mirror: served from memory by path when this process has checked them,
//! else checked against the signed release (a tarball replaced upstream is fetched again), else
//! fetched once for all concurrent askers and kept only when its checksum is the signed one.

use std::sync::Arc;

use hexyard_core::Version;
use hexyard_registry::proto;
use hexyard_storage::mirror as rows;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::cached::tarball_served;
use super::{Answer, FORCED_EVERY, MAX_TARBALL_BYTES, Mirror, MirrorError, Served, split_release};

impl Mirror {
    /// A tarball, `NAME-VERSION` (without `.tar`).
    pub async fn tarball(self: &Arc<Self>, stem: &str) -> Result<Served, MirrorError> {
        // the hot path: a tarball this process has served, still in memory (one lock)
        if let Some(served) = self.tarballs.get(stem.as_bytes()) {
            self.meters.hits.increment(1);
            return Ok(served);
        }
        let Some((name, version)) = split_release(stem) else { return Err(MirrorError::NotFound) };
        let stem = format!("{name}-{version}");
        if let Some(served) = self.tarball_cached(&name, &version, &stem).await? {
            self.meters.hits.increment(1);
            return Ok(served);
        }
        if self.settings.offline {
            return Err(MirrorError::NotCached(format!("tarballs/{stem}.tar")));
        }
        let mirror = self.clone();
        let key = format!("tarballs/{stem}");
        self.tarball_flights.join(&key, move || async move { mirror.fetch_tarball(&name, &version, &stem).await }).await
    }

    /// Whether a tarball is cached (for `mirror sync`).
    pub async fn has_tarball(&self, name: &str, version: &str) -> Result<bool, MirrorError> {
        if self.tarballs.get(format!("{name}-{version}").as_bytes()).is_some() {
            return Ok(true);
        }
        Ok(rows::tarball(&self.db, name, version).await?.is_some())
    }

    /// The cached tarball, if it is still the one the signed release names (then kept in
    /// memory, until its package's resource changes).
    async fn tarball_cached(
        self: &Arc<Self>,
        name: &str,
        version: &Version,
        stem: &str,
    ) -> Result<Option<Served>, MirrorError> {
        if let Some(served) = self.tarballs.get(stem.as_bytes()) {
            return Ok(Some(served));
        }
        let Some(row) = rows::tarball(&self.db, name, &version.to_string()).await? else { return Ok(None) };
        let Ok(checksum) = <[u8; 32]>::try_from(row.outer_checksum.as_slice()) else { return Ok(None) };
        let release = self.signed_release(name, version).await?;
        if release.outer_checksum.as_deref().is_some_and(|signed| signed != checksum.as_slice()) {
            tracing::info!(tarball = stem, "mirror: the upstream replaced a cached tarball; fetching it again");
            return Ok(None);
        }
        let Some(body) = self.blobs.get(&rows::tarball_key(&checksum)).await? else {
            tracing::error!(tarball = stem, "mirror: a cached tarball's blob is missing; fetching it again");
            return Ok(None);
        };
        let served = tarball_served(body, &checksum, row.fetched_at);
        self.tarballs.put(stem.as_bytes(), served.clone());
        Ok(Some(served))
    }

    async fn fetch_tarball(self: &Arc<Self>, name: &str, version: &Version, stem: &str) -> Result<Served, MirrorError> {
        // another replica may have fetched it meanwhile
        if let Some(served) = self.tarball_cached(name, version, stem).await? {
            return Ok(served);
        }
        let release = self.signed_release(name, version).await?;
        let path = format!("tarballs/{stem}.tar");
        let answer =
            self.upstream.get(&path, None, MAX_TARBALL_BYTES).await.inspect_err(|e| self.upstream_failed(&path, e))?;
        let body = match answer {
            Answer::Body { bytes, .. } => bytes,
            Answer::Missing => return Err(MirrorError::NotFound),
            Answer::NotModified => {
                let e = MirrorError::Upstream(format!("{path} answered 304 to an unconditional request"));
                self.upstream_failed(&path, &e);
                return Err(e);
            }
        };
        self.meters.upstream_bytes.increment(body.len() as u64);
        let outer: [u8; 32] = Sha256::digest(&body).into();
        if let Err(e) = check_tarball(&release, &body, &outer) {
            // a tarball replaced upstream since the package resource was cached: check it
            // against a fresh one before refusing it
            let fresh = match self.forced_release(name, version).await {
                Some(Ok(fresh)) => fresh,
                _ => {
                    self.upstream_failed(&path, &e);
                    return Err(e);
                }
            };
            if let Err(e) = check_tarball(&fresh, &body, &outer) {
                self.upstream_failed(&path, &e);
                return Err(e);
            }
        }
        let write = crate::gc::BlobWrite::begin(&self.db).await?;
        self.blobs.put(&rows::tarball_key(&outer), body.clone()).await?;
        let now = OffsetDateTime::now_utc();
        let row = rows::Tarball {
            package: name.to_owned(),
            version: version.to_string(),
            outer_checksum: outer.to_vec(),
            size: body.len() as i64,
            fetched_at: now,
        };
        rows::put_tarball(&self.db, &row).await?;
        write.done().await;
        self.meters.fetches.increment(1);
        self.grew(body.len()).await;
        tracing::info!(path, bytes = body.len(), "mirror: fetched from the upstream");
        let served = tarball_served(body, &outer, now);
        self.tarballs.put(stem.as_bytes(), served.clone());
        Ok(served)
    }

    /// The signed release of a tarball: from the cached package resource, or from a
    /// revalidated one when the release is newer than the cache.
    pub(super) async fn signed_release(
        self: &Arc<Self>,
        name: &str,
        version: &Version,
    ) -> Result<proto::package::Release, MirrorError> {
        if let Some(release) = find_release(self.package(name, false).await?, version) {
            return Ok(release);
        }
        match self.forced_release(name, version).await {
            Some(found) => found,
            None => Err(MirrorError::NotFound),
        }
    }

    /// The release from a package resource revalidated now, unless that was done for this
    /// package within [`FORCED_EVERY`] (or the mirror is offline): `None` then.
    async fn forced_release(
        self: &Arc<Self>,
        name: &str,
        version: &Version,
    ) -> Option<Result<proto::package::Release, MirrorError>> {
        let recent = self.forced.read().expect("forced lock").get(name).is_some_and(|at| at.elapsed() < FORCED_EVERY);
        if recent || self.settings.offline {
            return None;
        }
        self.remember(&self.forced, name);
        Some(self.package(name, true).await.and_then(|p| find_release(p, version).ok_or(MirrorError::NotFound)))
    }
}

fn find_release(package: proto::package::Package, version: &Version) -> Option<proto::package::Release> {
    package.releases.into_iter().find(|r| Version::parse(&r.version).ok().as_ref() == Some(version))
}

/// A tarball matches its signed release: the outer checksum, or for releases the upstream
/// signed before outer checksums existed, the inner one.
fn check_tarball(release: &proto::package::Release, body: &[u8], outer: &[u8; 32]) -> Result<(), MirrorError> {
    match release.outer_checksum.as_deref() {
        Some(expected) if expected == outer.as_slice() => Ok(()),
        Some(_) => Err(MirrorError::Upstream("the tarball's checksum differs from the signed one".into())),
        None => {
            let limits = hexyard_tarball::Limits::default();
            let package = hexyard_tarball::read(body, &limits)
                .map_err(|e| MirrorError::Upstream(format!("the tarball does not read: {e}")))?;
            if package.inner_checksum.as_slice() == release.inner_checksum.as_slice() {
                Ok(())
            } else {
                Err(MirrorError::Upstream("the tarball's checksum differs from the signed one".into()))
            }
        }
    }
}

//! Counting requests and attempts in Postgres, so that several servers share the counts: the
//! API's rate limits (a fixed window per minute) and the throttles on sign-in and TOTP codes.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hexyard_storage::{PgPool, rate_limits};

use crate::{Result, Services};

/// API requests allowed per window; 0 means unlimited.
#[derive(Debug, Clone, Copy)]
pub struct RateLimits {
    pub anonymous: u32,
    pub authenticated: u32,
    pub window_seconds: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits { anonymous: 100, authenticated: 500, window_seconds: 60 }
    }
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) as i64
}

/// The start (unix seconds) of the current window of `window_seconds`.
pub fn window_start(window_seconds: i64) -> i64 {
    let now = now();
    now - now.rem_euclid(window_seconds)
}

/// A counted request: how many the window holds now, and when it ends.
#[derive(Debug, Clone, Copy)]
pub struct Count {
    pub count: i64,
    pub reset: i64,
}

/// Counts one API request in `bucket`'s current window.
pub async fn hit(services: &Services, bucket: &str) -> Result<Count> {
    let window = i64::from(services.settings.rate_limits.window_seconds);
    let start = window_start(window);
    let count = rate_limits::hit(&services.db, bucket, start).await?;
    Ok(Count { count, reset: start + window })
}

/// Counts an attempt in a throttle of its own (sign-in, wrong codes) and tells whether it is
/// still within `allowed` per `window_seconds`.
pub async fn attempt(services: &Services, bucket: &str, allowed: i64, window_seconds: i64) -> Result<bool> {
    let count = rate_limits::hit(&services.db, bucket, window_start(window_seconds)).await?;
    Ok(count <= allowed)
}

/// Whether a throttle's window already holds `allowed` events, without counting one.
pub async fn exhausted(services: &Services, bucket: &str, allowed: i64, window_seconds: i64) -> Result<bool> {
    Ok(rate_limits::count(&services.db, bucket, window_start(window_seconds)).await? >= allowed)
}

/// Forgets closed windows, every minute.
pub(crate) async fn prune_forever(db: PgPool, window_seconds: u32) {
    loop {
        tokio::time::sleep(Duration::from_secs(60)).await;
        // the longest throttle window is 15 minutes
        let keep = i64::from(window_seconds).max(15 * 60);
        if let Err(e) = rate_limits::prune(&db, now() - 2 * keep).await {
            tracing::warn!(error = %e, "pruning rate-limit counters failed");
        }
    }
}

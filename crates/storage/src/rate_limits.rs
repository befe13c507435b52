//! Request counters for rate limiting, in Postgres so that every server behind one database
//! counts together.

use sqlx::PgExecutor;

use crate::Result;

/// Counts one request in `bucket` for the window starting at `window_start` (unix seconds) and
/// returns the count so far.
pub async fn hit(db: impl PgExecutor<'_>, bucket: &str, window_start: i64) -> Result<i64> {
    let (count,): (i32,) = sqlx::query_as(
        "INSERT INTO rate_limits (bucket, window_start, count) VALUES ($1, $2, 1)
         ON CONFLICT (bucket, window_start) DO UPDATE SET count = rate_limits.count + 1
         RETURNING count",
    )
    .bind(bucket)
    .bind(window_start)
    .fetch_one(db)
    .await?;
    Ok(i64::from(count))
}

/// Forgets windows that started before `before`.
pub async fn prune(db: impl PgExecutor<'_>, before: i64) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM rate_limits WHERE window_start < $1").bind(before).execute(db).await?.rows_affected())
}

/// The count of a window so far, without counting.
pub async fn count(db: impl PgExecutor<'_>, bucket: &str, window_start: i64) -> Result<i64> {
    let row: Option<(i32,)> = sqlx::query_as("SELECT count FROM rate_limits WHERE bucket = $1 AND window_start = $2")
        .bind(bucket)
        .bind(window_start)
        .fetch_optional(db)
        .await?;
    Ok(row.map_or(0, |(c,)| i64::from(c)))
}

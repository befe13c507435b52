//! Storage of hexyard: Postgres through sqlx, one module per aggregate, and the blob store.
//!
//! Functions take an executor (`&PgPool`, or `&mut PgConnection` inside a transaction the
//! caller owns) and return plain rows. No HTTP types here.

pub mod audit;
pub mod backup;
pub mod blob_refs;
pub mod blobs;
pub mod downloads;
pub mod keys;
pub mod mirror;
pub mod oauth;
pub mod orgs;
pub mod owners;
pub mod packages;
pub mod rate_limits;
pub mod releases;
pub mod repositories;
pub mod resources;
pub mod sessions;
pub mod tfa;
pub mod users;

pub use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
pub use sqlx::{Error as SqlxError, PgConnection, PgPool, Postgres, Transaction};

/// The migrations under `migrations/`, embedded.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("blob store: {0}")]
    Blob(#[from] object_store::Error),
    #[error("blob store: {0}")]
    BlobConfig(String),
    #[error("{0}")]
    Backup(String),
}

impl StorageError {
    /// Whether the database could not be reached (down, restarting, or every connection busy
    /// past the pool's timeout), as opposed to a query that failed.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StorageError::Database(e) => match e {
                sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => true,
                // the server shutting down or crashing under a connection (class 57), or the
                // connection failing (class 08)
                sqlx::Error::Database(db) => {
                    db.code().is_some_and(|code| code.starts_with("57") || code.starts_with("08"))
                }
                _ => false,
            },
            _ => false,
        }
    }

    /// Whether this is a violation of the named unique constraint or index.
    pub fn is_unique_violation(&self, constraint: &str) -> bool {
        match self {
            StorageError::Database(sqlx::Error::Database(e)) => {
                e.is_unique_violation() && e.constraint() == Some(constraint)
            }
            _ => false,
        }
    }
}

/// Result of storage functions.
pub type Result<T, E = StorageError> = std::result::Result<T, E>;

/// Applies every pending migration.
/// Asks the database for nothing, to see that it answers.
pub async fn ping(pool: &PgPool) -> Result<()> {
    sqlx::query("SELECT 1").execute(pool).await?;
    Ok(())
}

pub async fn migrate(pool: &PgPool) -> Result<()> {
    MIGRATOR.run(pool).await?;
    Ok(())
}

/// The versions of the applied migrations, ascending.
pub async fn applied_migrations(pool: &PgPool) -> Result<Vec<i64>> {
    let rows: Vec<(i64,)> =
        sqlx::query_as("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version").fetch_all(pool).await?;
    Ok(rows.into_iter().map(|(v,)| v).collect())
}

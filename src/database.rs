//! Opening the database: the external one, or the embedded cluster.

use std::time::Duration;

use anyhow::Context;
use hexyard_storage::{PgPool, PgPoolOptions};

use crate::config::Config;
use hexyard_postgres::Embedded;

/// A pool, and the embedded cluster behind it when there is one (stopped when this drops, if
/// this process started it).
#[derive(Debug)]
pub struct Database {
    pub pool: PgPool,
    pub embedded: Option<Embedded>,
}

impl Database {
    pub async fn open(config: &Config, max_connections: u32) -> anyhow::Result<Database> {
        let options = PgPoolOptions::new().max_connections(max_connections).acquire_timeout(Duration::from_secs(10));
        match &config.database_url {
            Some(url) => {
                let pool = options.connect(url).await.context("connecting to HEXYARD_DATABASE_URL")?;
                Ok(Database { pool, embedded: None })
            }
            None => {
                let data_dir = config.data_dir.clone();
                let embedded = tokio::task::spawn_blocking(move || Embedded::start(&data_dir)).await??;
                let pool = options
                    .connect_with(embedded.connect_options())
                    .await
                    .context("connecting to the embedded Postgres cluster")?;
                Ok(Database { pool, embedded: Some(embedded) })
            }
        }
    }

    /// Closes the pool, then stops the embedded cluster if this process started it.
    pub async fn close(mut self) {
        self.pool.close().await;
        if let Some(mut embedded) = self.embedded.take() {
            tokio::task::spawn_blocking(move || embedded.stop()).await.ok();
        }
    }
}

//! Opening the database: the external one, or the embedded cluster (supervised: restarted,
//! with backoff, when its postmaster dies).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use hexyard_storage::{PgPool, PgPoolOptions};

use crate::config::Config;
use hexyard_postgres::Embedded;

/// How long a request waits for a connection: past it, a 503 (the database is down, or every
/// connection busy), rather than a request hanging.
const ACQUIRE_TIMEOUT: Duration = Duration::from_millis(1500);

/// A pool, and the embedded cluster behind it when there is one (stopped when this closes, if
/// this process started it).
#[derive(Debug)]
pub struct Database {
    pub pool: PgPool,
    pub embedded: Option<Arc<Mutex<Embedded>>>,
    supervisor: Option<tokio::task::JoinHandle<()>>,
}

impl Database {
    pub async fn open(config: &Config, max_connections: u32) -> anyhow::Result<Database> {
        let options = PgPoolOptions::new().max_connections(max_connections).acquire_timeout(ACQUIRE_TIMEOUT);
        match &config.database_url {
            Some(url) => {
                // an external database is reconnected by the pool as soon as it answers again
                let pool = options.connect(url).await.context("connecting to HEXYARD_DATABASE_URL")?;
                Ok(Database { pool, embedded: None, supervisor: None })
            }
            None => {
                let data_dir = config.data_dir.clone();
                let embedded = tokio::task::spawn_blocking(move || Embedded::start(&data_dir)).await??;
                let pool = options
                    .connect_with(embedded.connect_options())
                    .await
                    .context("connecting to the embedded Postgres cluster")?;
                let supervised = embedded.started_here();
                let embedded = Arc::new(Mutex::new(embedded));
                let supervisor = supervised.then(|| tokio::spawn(supervise(embedded.clone())));
                Ok(Database { pool, embedded: Some(embedded), supervisor })
            }
        }
    }

    /// Closes the pool, then stops the embedded cluster if this process started it.
    pub async fn close(mut self) {
        if let Some(supervisor) = self.supervisor.take() {
            supervisor.abort();
        }
        self.pool.close().await;
        if let Some(embedded) = self.embedded.take() {
            tokio::task::spawn_blocking(move || embedded.lock().expect("cluster lock").stop()).await.ok();
        }
    }
}

/// Watches the postmaster every second; when it has died, starts the cluster again, backing
/// off (1 s, doubling to 30 s) while that fails (its old backends may still be exiting).
async fn supervise(embedded: Arc<Mutex<Embedded>>) {
    let mut backoff = Duration::from_secs(1);
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let watched = embedded.clone();
        let alive =
            tokio::task::spawn_blocking(move || watched.lock().expect("cluster lock").is_alive()).await.unwrap_or(true);
        if alive {
            backoff = Duration::from_secs(1);
            continue;
        }
        tracing::error!("the embedded Postgres cluster stopped: starting it again");
        let watched = embedded.clone();
        match tokio::task::spawn_blocking(move || watched.lock().expect("cluster lock").restart()).await {
            Ok(Ok(())) => tracing::info!("the embedded Postgres cluster is running again"),
            Ok(Err(e)) => {
                tracing::error!(error = %format!("{e:#}"), retry_in = ?backoff, "restarting Postgres failed");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(30));
            }
            Err(_) => return,
        }
    }
}

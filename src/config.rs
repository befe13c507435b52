//! Configuration from `HEXYARD_*` environment variables (the README lists every one).

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;

/// Every setting of the server and the admin commands.
#[derive(Debug, Clone)]
pub struct Config {
    /// `HEXYARD_LISTEN`
    pub listen: SocketAddr,
    /// `HEXYARD_PUBLIC_URL`; derived from the bound address when unset.
    pub public_url: Option<String>,
    /// `HEXYARD_DATA_DIR`: the embedded cluster, blobs, generated keys and secret.
    pub data_dir: PathBuf,
    /// `HEXYARD_DATABASE_URL`; unset means the embedded cluster.
    pub database_url: Option<String>,
    /// `HEXYARD_BLOB_STORE`; unset means `DATA_DIR/blobs`.
    pub blob_store: Option<String>,
    /// `HEXYARD_REPOSITORY`: the name of the instance's public repository.
    pub repository: String,
    /// `HEXYARD_SECRET`; unset means one generated into the data dir.
    pub secret: Option<String>,
    /// `HEXYARD_LOG`: a tracing filter.
    pub log: String,
    /// `HEXYARD_RATE_LIMIT_ANONYMOUS` and `HEXYARD_RATE_LIMIT_AUTHENTICATED`: API requests per
    /// minute per IP without credentials, and per user with them (0: unlimited).
    pub rate_limits: hexyard_service::RateLimits,
    /// `HEXYARD_SMTP_URL`; unset means mails are written under `DATA_DIR/mail`.
    pub smtp_url: Option<String>,
    /// `HEXYARD_MAIL_FROM`: the sender of every mail.
    pub mail_from: String,
    /// The Hex CLI and Gleam, plus `HEXYARD_OAUTH_CLIENTS` (`ID=NAME,ID=NAME`).
    pub oauth_clients: Vec<(String, String)>,
    /// `HEXYARD_DOWNLOADS_FLUSH_SECONDS`: how often download counts are added to the database
    /// (what a crash may lose).
    pub downloads_flush: std::time::Duration,
    /// `HEXYARD_COUNT_DOWNLOADS`: `false` stops counting tarball downloads.
    pub count_downloads: bool,
}

impl Config {
    pub fn from_env() -> anyhow::Result<Self> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let listen = var("HEXYARD_LISTEN").unwrap_or_else(|| "127.0.0.1:4000".to_owned());
        let repository = var("HEXYARD_REPOSITORY").unwrap_or_else(|| "hexyard".to_owned());
        if repository == hexyard_core::HEXPM {
            anyhow::bail!("HEXYARD_REPOSITORY cannot be \"hexpm\": that name means hex.pm to every client");
        }
        hexyard_core::RepositoryName::parse(&repository)
            .with_context(|| format!("HEXYARD_REPOSITORY {repository:?}"))?;
        Ok(Config {
            listen: listen.parse().with_context(|| format!("HEXYARD_LISTEN {listen:?}"))?,
            public_url: var("HEXYARD_PUBLIC_URL").map(|u| u.trim_end_matches('/').to_owned()),
            data_dir: var("HEXYARD_DATA_DIR").map_or_else(|| PathBuf::from("./hexyard-data"), PathBuf::from),
            database_url: var("HEXYARD_DATABASE_URL"),
            blob_store: var("HEXYARD_BLOB_STORE"),
            repository,
            secret: var("HEXYARD_SECRET"),
            log: var("HEXYARD_LOG").unwrap_or_else(|| "info".to_owned()),
            smtp_url: var("HEXYARD_SMTP_URL"),
            mail_from: var("HEXYARD_MAIL_FROM").unwrap_or_else(|| "hexyard <hexyard@localhost>".to_owned()),
            rate_limits: {
                let defaults = hexyard_service::RateLimits::default();
                let number = |name: &str, default: u32| -> anyhow::Result<u32> {
                    var(name).map_or(Ok(default), |v| v.parse().with_context(|| format!("{name} {v:?}")))
                };
                hexyard_service::RateLimits {
                    anonymous: number("HEXYARD_RATE_LIMIT_ANONYMOUS", defaults.anonymous)?,
                    authenticated: number("HEXYARD_RATE_LIMIT_AUTHENTICATED", defaults.authenticated)?,
                    window_seconds: defaults.window_seconds,
                }
            },
            oauth_clients: {
                let mut clients = hexyard_service::default_oauth_clients();
                for entry in
                    var("HEXYARD_OAUTH_CLIENTS").unwrap_or_default().split(',').filter(|e| !e.trim().is_empty())
                {
                    let (id, name) = entry.split_once('=').unwrap_or((entry, entry));
                    clients.push((id.trim().to_owned(), name.trim().to_owned()));
                }
                clients
            },
            downloads_flush: match var("HEXYARD_DOWNLOADS_FLUSH_SECONDS") {
                None => hexyard_service::downloads::FLUSH_EVERY,
                Some(v) => v
                    .parse::<u64>()
                    .ok()
                    .filter(|s| (1..=3600).contains(s))
                    .map(std::time::Duration::from_secs)
                    .with_context(|| format!("HEXYARD_DOWNLOADS_FLUSH_SECONDS {v:?}: 1 to 3600"))?,
            },
            count_downloads: match var("HEXYARD_COUNT_DOWNLOADS").as_deref() {
                None | Some("true") => true,
                Some("false") => false,
                Some(other) => anyhow::bail!("HEXYARD_COUNT_DOWNLOADS {other:?}: true or false"),
            },
        })
    }

    /// Where the signing key of `repository` is kept.
    pub fn key_path(&self, repository: &str) -> PathBuf {
        self.data_dir.join("keys").join(format!("{repository}.pem"))
    }
}

//! The configuration: the settings of [`crate::settings`] (a file under the `HEXYARD_*`
//! environment) parsed and checked.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;

use crate::settings::Sources;

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
    /// `HEXYARD_MIRROR` and `HEXYARD_MIRROR_*`: the caching mirror of hex.pm (or another
    /// upstream) under `/mirror`; `None` when `HEXYARD_MIRROR=off`.
    pub mirror: Option<hexyard_service::mirror::MirrorSettings>,
    /// `HEXYARD_LOG_FORMAT`: how log lines are written.
    pub log_format: LogFormat,
    /// `HEXYARD_METRICS`: whether `/metrics` is served (and meters kept).
    pub metrics: bool,
    /// `HEXYARD_METRICS_TOKEN`: when set, `/metrics` needs `Authorization: Bearer TOKEN`.
    pub metrics_token: Option<String>,
    /// `HEXYARD_SHUTDOWN_SECONDS`: how long in-flight requests get to finish after SIGTERM.
    pub shutdown: std::time::Duration,
    /// `HEXYARD_DATABASE_POOL_SIZE`: the server's database connections.
    pub pool_size: u32,
}

/// `HEXYARD_LOG_FORMAT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Readable lines (coloured on a terminal).
    Text,
    /// One JSON object per line.
    Json,
}

impl Config {
    pub fn load(sources: &Sources) -> anyhow::Result<Self> {
        let var = |name: &str| sources.get(name);
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
            downloads_flush: seconds(
                &var,
                "HEXYARD_DOWNLOADS_FLUSH_SECONDS",
                hexyard_service::downloads::FLUSH_EVERY,
                3600,
            )?,
            count_downloads: match var("HEXYARD_COUNT_DOWNLOADS").as_deref() {
                None | Some("true") => true,
                Some("false") => false,
                Some(other) => anyhow::bail!("HEXYARD_COUNT_DOWNLOADS {other:?}: true or false"),
            },
            mirror: mirror(&var)?,
            log_format: match var("HEXYARD_LOG_FORMAT").as_deref() {
                None | Some("text") => LogFormat::Text,
                Some("json") => LogFormat::Json,
                Some(other) => anyhow::bail!("HEXYARD_LOG_FORMAT {other:?}: text or json"),
            },
            metrics: match var("HEXYARD_METRICS").as_deref() {
                None | Some("on") => true,
                Some("off") => false,
                Some(other) => anyhow::bail!("HEXYARD_METRICS {other:?}: on or off"),
            },
            metrics_token: var("HEXYARD_METRICS_TOKEN"),
            shutdown: seconds(&var, "HEXYARD_SHUTDOWN_SECONDS", std::time::Duration::from_secs(30), 3600)?,
            pool_size: match var("HEXYARD_DATABASE_POOL_SIZE") {
                None => 32,
                Some(v) => v
                    .parse::<u32>()
                    .ok()
                    .filter(|n| (2..=1000).contains(n))
                    .with_context(|| format!("HEXYARD_DATABASE_POOL_SIZE {v:?}: 2 to 1000"))?,
            },
        })
    }

    /// Where the signing key of `repository` is kept.
    pub fn key_path(&self, repository: &str) -> PathBuf {
        self.data_dir.join("keys").join(format!("{repository}.pem"))
    }
}

/// The mirror's settings from `HEXYARD_MIRROR*`.
fn mirror(var: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<Option<hexyard_service::mirror::MirrorSettings>> {
    match var("HEXYARD_MIRROR").as_deref() {
        None | Some("on") => {}
        Some("off") => return Ok(None),
        Some(other) => anyhow::bail!("HEXYARD_MIRROR {other:?}: on or off"),
    }
    let mut settings = hexyard_service::mirror::MirrorSettings::hexpm();
    if let Some(url) = var("HEXYARD_MIRROR_URL") {
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            anyhow::bail!("HEXYARD_MIRROR_URL {url:?}: an http:// or https:// URL");
        }
        settings.url = url.trim_end_matches('/').to_owned();
    }
    if let Some(key) = var("HEXYARD_MIRROR_PUBLIC_KEY") {
        // the PEM itself, or a file holding it
        settings.public_key_pem = if key.trim_start().starts_with("-----BEGIN") {
            key
        } else {
            std::fs::read_to_string(&key).with_context(|| format!("HEXYARD_MIRROR_PUBLIC_KEY: reading {key}"))?
        };
        hexyard_registry::VerifyingKey::from_pem(&settings.public_key_pem)
            .map_err(|e| anyhow::anyhow!("HEXYARD_MIRROR_PUBLIC_KEY: {e}"))?;
    }
    if let Some(name) = var("HEXYARD_MIRROR_REPOSITORY") {
        settings.repository = name;
    }
    settings.max_age = seconds(var, "HEXYARD_MIRROR_MAX_AGE_SECONDS", settings.max_age, 7 * 24 * 3600)?;
    settings.timeout = seconds(var, "HEXYARD_MIRROR_TIMEOUT_SECONDS", settings.timeout, 600)?;
    settings.offline = match var("HEXYARD_MIRROR_OFFLINE").as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => anyhow::bail!("HEXYARD_MIRROR_OFFLINE {other:?}: true or false"),
    };
    settings.auth_required = match var("HEXYARD_MIRROR_AUTH").as_deref() {
        None | Some("none") => false,
        Some("required") => true,
        Some(other) => anyhow::bail!("HEXYARD_MIRROR_AUTH {other:?}: none or required"),
    };
    settings.max_bytes = match var("HEXYARD_MIRROR_MAX_BYTES") {
        None => None,
        Some(v) => Some(
            bytes(&v)
                .with_context(|| format!("HEXYARD_MIRROR_MAX_BYTES {v:?}: bytes, or a number with K, M, G or T"))?,
        ),
    };
    Ok(Some(settings))
}

/// A number of seconds from 1 to `max`, or `default` when unset.
fn seconds(
    var: &dyn Fn(&str) -> Option<String>,
    name: &str,
    default: std::time::Duration,
    max: u64,
) -> anyhow::Result<std::time::Duration> {
    match var(name) {
        None => Ok(default),
        Some(v) => v
            .parse::<u64>()
            .ok()
            .filter(|s| (1..=max).contains(s))
            .map(std::time::Duration::from_secs)
            .with_context(|| format!("{name} {v:?}: 1 to {max}")),
    }
}

/// `1048576`, `512M`, `50G`: binary multiples.
fn bytes(text: &str) -> Option<u64> {
    let text = text.trim();
    let (number, shift) = match text.char_indices().last()? {
        (i, 'K' | 'k') => (&text[..i], 10),
        (i, 'M' | 'm') => (&text[..i], 20),
        (i, 'G' | 'g') => (&text[..i], 30),
        (i, 'T' | 't') => (&text[..i], 40),
        _ => (text, 0),
    };
    number.trim().parse::<u64>().ok()?.checked_mul(1 << shift)
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes_take_binary_suffixes() {
        assert_eq!(super::bytes("1024"), Some(1024));
        assert_eq!(super::bytes("512M"), Some(512 << 20));
        assert_eq!(super::bytes("50G"), Some(50 << 30));
        assert_eq!(super::bytes("G"), None);
        assert_eq!(super::bytes("-1"), None);
        assert_eq!(super::bytes("99999999999T"), None);
    }
}

//! `hexyard`: a self-hosted Hex package registry. One binary: the server and its admin tools.

mod admin;
mod backup;
mod config;
mod database;
mod keys;
mod migrate;
mod mirror;
mod registry;
mod secrets;
mod serve;
mod services;
mod settings;
mod tarball;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

#[derive(Debug, Parser)]
#[command(name = "hexyard", version, about = "A self-hosted package registry that speaks the Hex protocol")]
struct Cli {
    /// A TOML file of settings (keys: the HEXYARD_* variables in lower case without the prefix);
    /// the environment wins over it. Default: HEXYARD_CONFIG.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<std::path::PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the registry: the Hex API under /api, the repository under /repo.
    Serve,
    /// Apply the database migrations (or, with --revert, undo the latest).
    Migrate {
        #[arg(long)]
        revert: bool,
    },
    /// Accounts and keys.
    #[command(subcommand)]
    Admin(admin::AdminCommand),
    /// Repository signing keys.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// The signed registry: rebuild or verify it.
    #[command(subcommand)]
    Registry(registry::RegistryCommand),
    /// Package tarballs.
    #[command(subcommand)]
    Tarball(tarball::TarballCommand),
    /// The caching mirror of hex.pm: fill it ahead of time, or see what it holds.
    #[command(subcommand)]
    Mirror(mirror::MirrorCommand),
    /// The configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Write the database (one snapshot), every blob it refers to and the signing keys to FILE
    /// (a gzipped tar), while the server runs.
    Backup {
        file: std::path::PathBuf,
        /// Include the server secret: the archive then opens every API key, 2FA secret and
        /// organization key. Keep it as safe as the secret.
        #[arg(long)]
        include_secrets: bool,
    },
    /// Restore a backup into an empty database and data dir (or blob store).
    Restore { file: std::path::PathBuf },
    /// Ask the server on HEXYARD_LISTEN for GET /health: exit 0 when it is ready (for container
    /// health checks).
    Health,
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Validate the settings (the file and the environment) and print the effective ones, secrets
    /// masked.
    Check,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = settings::Sources::load(cli.config.as_deref()).and_then(|sources| {
        let config = config::Config::load(&sources)?;
        init_logs(&config);
        match cli.command {
            Command::Config(ConfigCommand::Check) => {
                check_config(&sources, &config);
                Ok(())
            }
            Command::Health => health(&config),
            Command::Backup { file, include_secrets } => {
                runtime()?.block_on(backup::backup(config, file, include_secrets))
            }
            Command::Restore { file } => runtime()?.block_on(backup::restore(config, file)),
            Command::Keys(cmd) => keys::run(cmd, &config),
            Command::Tarball(cmd) => tarball::run(cmd),
            Command::Serve => runtime()?.block_on(serve::run(config)),
            Command::Migrate { revert } => runtime()?.block_on(migrate::run(config, revert)),
            Command::Admin(cmd) => runtime()?.block_on(admin::run(cmd, config)),
            Command::Registry(cmd) => runtime()?.block_on(registry::run(cmd, config)),
            Command::Mirror(cmd) => runtime()?.block_on(mirror::run(cmd, config)),
        }
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn init_logs(config: &config::Config) {
    let filter = EnvFilter::try_new(&config.log).unwrap_or_else(|_| EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match config.log_format {
        // one object per line, the request's span (its id) in each
        config::LogFormat::Json => logs.json().with_current_span(true).with_span_list(false).init(),
        // colours on a terminal only: log files and collectors get plain text
        config::LogFormat::Text => logs.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())).init(),
    }
}

/// `hexyard config check`: the configuration is valid (or `main` has said why not); each
/// setting with its value and where it came from.
fn check_config(sources: &settings::Sources, config: &config::Config) {
    match &sources.file {
        Some(path) => println!("configuration file: {}", path.display()),
        None => println!("configuration file: none (--config FILE or {})", settings::CONFIG_VAR),
    }
    for setting in settings::SETTINGS {
        match sources.origin(setting.name) {
            Some((value, origin)) => {
                let from = match origin {
                    settings::Origin::File => "file",
                    settings::Origin::Environment => "environment",
                };
                println!("{} = {} ({from})", setting.name, settings::masked(setting, value));
            }
            None => println!("{} (default)", setting.name),
        }
    }
    println!("data dir: {}", config.data_dir.display());
    println!("configuration OK");
}

/// `hexyard health`: `GET /health` of the server this configuration describes.
fn health(config: &config::Config) -> anyhow::Result<()> {
    use std::io::{Read, Write};
    let mut address = config.listen;
    if address.ip().is_unspecified() {
        address.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let timeout = std::time::Duration::from_secs(5);
    let mut stream = std::net::TcpStream::connect_timeout(&address, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    write!(stream, "GET /health HTTP/1.0\r\nhost: {address}\r\n\r\n")?;
    let mut answer = String::new();
    stream.take(4096).read_to_string(&mut answer)?;
    let status = answer.lines().next().unwrap_or_default();
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default().trim();
    anyhow::ensure!(status.split(' ').nth(1) == Some("200"), "{address}: {status} {body}");
    println!("{address}: {body}");
    Ok(())
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build()?)
}

//! `hexyard`: a self-hosted Hex package registry. One binary: the server and its admin tools.

mod admin;
mod config;
mod database;
mod keys;
mod migrate;
mod mirror;
mod registry;
mod secrets;
mod serve;
mod services;
mod tarball;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

#[derive(Debug, Parser)]
#[command(name = "hexyard", version, about = "A self-hosted package registry that speaks the Hex protocol")]
struct Cli {
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
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = config::Config::from_env().and_then(|config| {
        tracing_subscriber::fmt()
            .with_env_filter(EnvFilter::try_new(&config.log).unwrap_or_else(|_| EnvFilter::new("info")))
            .with_writer(std::io::stderr)
            // colours on a terminal only: log files and collectors get plain text
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init();
        match cli.command {
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

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build()?)
}

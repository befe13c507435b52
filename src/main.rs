//! `hexyard`: a self-hosted Hex package registry. One binary: the server and its admin tools.

mod config;
mod keys;
mod tarball;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "hexyard", version, about = "A self-hosted package registry that speaks the Hex protocol")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Repository signing keys.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Package tarballs.
    #[command(subcommand)]
    Tarball(tarball::TarballCommand),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let config = config::Config::from_env();
    let result = match cli.command {
        Command::Keys(cmd) => keys::run(cmd, &config),
        Command::Tarball(cmd) => tarball::run(cmd),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

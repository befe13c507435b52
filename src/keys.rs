//! `hexyard keys`: make and show repository signing keys.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Subcommand;
use hexyard_core::RepositoryName;
use hexyard_registry::SigningKey;

use crate::config::Config;
use crate::secrets::write_private;

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Generate a 2048-bit RSA signing key for a repository and keep it in the data dir
    /// (or write it to --output; `-` is standard output).
    Generate {
        /// The repository the key signs for (default: HEXYARD_REPOSITORY).
        #[arg(long)]
        repository: Option<String>,
        /// Write the private key here instead of the data dir.
        #[arg(long)]
        output: Option<PathBuf>,
        /// Replace an existing key. Clients that pinned the old public key will refuse the
        /// registry until they are given the new one.
        #[arg(long)]
        force: bool,
    },
    /// Print a repository's public key as PEM (`BEGIN PUBLIC KEY`), the form every client takes.
    Public {
        #[arg(long)]
        repository: Option<String>,
        /// Read the private key from this file (`-` for standard input) instead of the data dir.
        #[arg(long)]
        key: Option<PathBuf>,
        /// Print the SHA-256 fingerprint for `mix hex.repo add --fetch-public-key` instead.
        #[arg(long)]
        fingerprint: bool,
    },
}

pub fn run(cmd: KeysCommand, config: &Config) -> anyhow::Result<()> {
    match cmd {
        KeysCommand::Generate { repository, output, force } => {
            let repository = repository_name(repository, config)?;
            let key = SigningKey::generate()?;
            let pem = key.to_pem();
            match output.as_deref() {
                Some(p) if p == Path::new("-") => std::io::stdout().write_all(pem.as_bytes())?,
                other => {
                    let path = other.map_or_else(|| config.key_path(repository.as_str()), Path::to_path_buf);
                    if path.exists() && !force {
                        bail!("{} exists; pass --force to replace it", path.display());
                    }
                    write_private(&path, pem.as_bytes())?;
                    eprintln!("wrote the signing key of repository {repository} to {}", path.display());
                    eprintln!("fingerprint: {}", key.verifying_key().fingerprint());
                }
            }
            Ok(())
        }
        KeysCommand::Public { repository, key, fingerprint } => {
            let repository = repository_name(repository, config)?;
            let pem = match key.as_deref() {
                Some(p) if p == Path::new("-") => {
                    let mut text = String::new();
                    std::io::stdin().read_to_string(&mut text)?;
                    text
                }
                Some(p) => std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?,
                None => {
                    let path = config.key_path(repository.as_str());
                    std::fs::read_to_string(&path)
                        .with_context(|| format!("reading {} (run `hexyard keys generate` first)", path.display()))?
                }
            };
            let key = SigningKey::from_pem(&pem)?;
            if fingerprint {
                println!("{}", key.verifying_key().fingerprint());
            } else {
                print!("{}", key.verifying_key().to_pem());
            }
            Ok(())
        }
    }
}

fn repository_name(given: Option<String>, config: &Config) -> anyhow::Result<RepositoryName> {
    let raw = given.unwrap_or_else(|| config.repository.clone());
    RepositoryName::parse(&raw).with_context(|| format!("repository name {raw:?}"))
}

//! `hexyard registry rebuild|verify`: the signed registries (the public repository's and every
//! organization's) are derived from Postgres; rebuild them, or check that what is served is
//! signed, names the right repository and matches the data.

use anyhow::{anyhow, bail};
use clap::Subcommand;
use hexyard_service::{gc, registry};

use crate::config::Config;
use crate::database::Database;
use crate::services::for_admin;

#[derive(Debug, Subcommand)]
pub enum RegistryCommand {
    /// Re-sign every resource (/names, /versions, /packages/*) of every repository from the
    /// database. Running servers pick the new resources up at once.
    Rebuild,
    /// Verify every stored resource's signature and origin, and compare it with the database;
    /// check that every tarball and docs tarball referred to is in the blob store, and list the
    /// blobs nothing refers to (left by crashes).
    Verify,
    /// Remove the blobs nothing refers to (and half-written blob files), as a server does at
    /// start-up and every hour.
    Gc,
}

pub async fn run(cmd: RegistryCommand, config: Config) -> anyhow::Result<()> {
    let db = Database::open(&config, 4).await?;
    let result = async {
        let services = for_admin(&config, &db).await?;
        match cmd {
            RegistryCommand::Rebuild => {
                let done = registry::rebuild_all(&services).await.map_err(|e| anyhow!(e.chain()))?;
                for (name, count) in done {
                    eprintln!("rebuilt the registry of {name}: {count} packages");
                }
            }
            RegistryCommand::Verify => {
                let (problems, clean) = registry::verify_all(&services).await.map_err(|e| anyhow!(e.chain()))?;
                for name in clean {
                    eprintln!("the registry of {name} verifies");
                }
                let mut problems = problems;
                let blobs = gc::collect(&services, false).await.map_err(|e| anyhow!(e.chain()))?;
                problems.extend(blobs.missing.iter().map(|key| format!("blob {key} is referred to but missing")));
                for p in &problems {
                    println!("{p}");
                }
                for blob in &blobs.blobs {
                    println!("unreferenced blob {} ({} bytes)", blob.key, blob.size);
                }
                for file in &blobs.staging {
                    println!("half-written blob file {}", file.display());
                }
                let orphans = blobs.blobs.len() + blobs.staging.len();
                if orphans == 0 {
                    eprintln!("no unreferenced blobs");
                } else {
                    eprintln!("{orphans} unreferenced blob(s): `hexyard registry gc` removes them");
                }
                if !problems.is_empty() {
                    bail!("{} problem(s) in the registries", problems.len());
                }
            }
            RegistryCommand::Gc => {
                let removed = gc::collect(&services, true).await.map_err(|e| anyhow!(e.chain()))?;
                let bytes: u64 = removed.blobs.iter().map(|b| b.size).sum();
                println!(
                    "removed {} unreferenced blob(s) ({bytes} bytes) and {} half-written file(s)",
                    removed.blobs.len(),
                    removed.staging.len()
                );
            }
        }
        Ok(())
    }
    .await;
    db.close().await;
    result
}

//! `hexyard registry rebuild|verify`: the signed registries (the public repository's and every
//! organization's) are derived from Postgres; rebuild them, or check that what is served is
//! signed, names the right repository and matches the data.

use anyhow::{anyhow, bail};
use clap::Subcommand;
use hexyard_service::registry;

use crate::config::Config;
use crate::database::Database;
use crate::services::for_admin;

#[derive(Debug, Subcommand)]
pub enum RegistryCommand {
    /// Re-sign every resource (/names, /versions, /packages/*) of every repository from the
    /// database. Running servers pick the new resources up at once.
    Rebuild,
    /// Verify every stored resource's signature and origin, and compare it with the database.
    Verify,
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
                for p in &problems {
                    println!("{p}");
                }
                if !problems.is_empty() {
                    bail!("{} problem(s) in the registries", problems.len());
                }
            }
        }
        Ok(())
    }
    .await;
    db.close().await;
    result
}

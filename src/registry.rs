//! `hexyard registry rebuild|verify`: the signed registry is derived from Postgres; rebuild it,
//! or check that what is served is signed, names the right repository and matches the data.

use anyhow::bail;
use clap::Subcommand;
use hexyard_api::RepositoryRegistry;
use hexyard_storage::{releases, repositories};

use crate::config::Config;
use crate::database::Database;
use crate::secrets;

#[derive(Debug, Subcommand)]
pub enum RegistryCommand {
    /// Re-sign every resource (/names, /versions, /packages/*) from the database. Running
    /// servers pick the new resources up at once.
    Rebuild,
    /// Verify every stored resource's signature and origin, and compare it with the database.
    Verify,
}

pub async fn run(cmd: RegistryCommand, config: Config) -> anyhow::Result<()> {
    let db = Database::open(&config, 4).await?;
    let result = async {
        hexyard_storage::migrate(&db.pool).await?;
        let repo = repositories::ensure(&db.pool, &config.repository, true).await?;
        let registry =
            RepositoryRegistry::new(repo.id, repo.name.clone(), true, secrets::signing_key(&config, &repo.name)?);
        match cmd {
            RegistryCommand::Rebuild => {
                let mut names: Vec<String> =
                    releases::summaries(&db.pool, repo.id).await?.into_iter().map(|s| s.package).collect();
                names.sort_unstable();
                names.dedup();
                for name in &names {
                    registry.rebuild_package(&db.pool, name).await?;
                }
                registry.rebuild_index(&db.pool).await?;
                eprintln!("rebuilt the registry of {}: {} packages", repo.name, names.len());
            }
            RegistryCommand::Verify => {
                let problems = registry.verify(&db.pool).await?;
                for p in &problems {
                    println!("{p}");
                }
                if !problems.is_empty() {
                    bail!("{} problem(s) in the registry of {}", problems.len(), repo.name);
                }
                eprintln!("the registry of {} verifies", repo.name);
            }
        }
        Ok(())
    }
    .await;
    db.close().await;
    result
}

//! `hexyard registry rebuild|verify`: the signed registries (the public repository's and every
//! organization's) are derived from Postgres; rebuild them, or check that what is served is
//! signed, names the right repository and matches the data.

use anyhow::{Context, bail};
use clap::Subcommand;
use hexyard_api::RepositoryRegistry;
use hexyard_registry::SigningKey;
use hexyard_storage::{releases, repositories};

use crate::config::Config;
use crate::database::Database;
use crate::secrets;

#[derive(Debug, Subcommand)]
pub enum RegistryCommand {
    /// Re-sign every resource (/names, /versions, /packages/*) of every repository from the
    /// database. Running servers pick the new resources up at once.
    Rebuild,
    /// Verify every stored resource's signature and origin, and compare it with the database.
    Verify,
}

/// The public repository and every organization's, each with its signing key.
async fn registries(config: &Config, db: &Database) -> anyhow::Result<Vec<RepositoryRegistry>> {
    let public = repositories::ensure(&db.pool, &config.repository, true).await?;
    let mut all = vec![RepositoryRegistry::new(
        public.id,
        public.name.clone(),
        true,
        secrets::signing_key(config, &public.name)?,
    )];
    let sealer = hexyard_totp::Sealer::with_purpose(
        hexyard_api::state::REPOSITORY_KEY_PURPOSE,
        secrets::server_secret_text(config)?.as_bytes(),
    );
    for repo in repositories::private_all(&db.pool).await? {
        let sealed = repo.signing_key_sealed.with_context(|| format!("repository {} has no signing key", repo.name))?;
        let pem = sealer.open(&sealed).map_err(|e| anyhow::anyhow!("repository {}: {e}", repo.name))?;
        let key = SigningKey::from_pem(&String::from_utf8_lossy(&pem))?;
        all.push(RepositoryRegistry::new(repo.id, repo.name, false, key));
    }
    Ok(all)
}

pub async fn run(cmd: RegistryCommand, config: Config) -> anyhow::Result<()> {
    let db = Database::open(&config, 4).await?;
    let result = async {
        hexyard_storage::migrate(&db.pool).await?;
        let mut problems = Vec::new();
        for registry in registries(&config, &db).await? {
            match cmd {
                RegistryCommand::Rebuild => {
                    let mut names: Vec<String> =
                        releases::summaries(&db.pool, registry.id).await?.into_iter().map(|s| s.package).collect();
                    names.sort_unstable();
                    names.dedup();
                    for name in &names {
                        registry.rebuild_package(&db.pool, name).await?;
                    }
                    registry.rebuild_index(&db.pool).await?;
                    eprintln!("rebuilt the registry of {}: {} packages", registry.name, names.len());
                }
                RegistryCommand::Verify => {
                    let found = registry.verify(&db.pool).await?;
                    if found.is_empty() {
                        eprintln!("the registry of {} verifies", registry.name);
                    }
                    problems.extend(found);
                }
            }
        }
        for p in &problems {
            println!("{p}");
        }
        if !problems.is_empty() {
            bail!("{} problem(s) in the registries", problems.len());
        }
        Ok(())
    }
    .await;
    db.close().await;
    result
}

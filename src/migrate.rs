//! `hexyard migrate`: apply the migrations, or revert the latest.

use anyhow::Context;

use crate::config::Config;
use crate::database::Database;

pub async fn run(config: Config, revert: bool) -> anyhow::Result<()> {
    let db = Database::open(&config, 2).await?;
    let result = if revert {
        let applied: Vec<i64> = hexyard_storage::applied_migrations(&db.pool).await?;
        let target = applied.iter().rev().nth(1).copied().unwrap_or(0);
        hexyard_storage::MIGRATOR.undo(&db.pool, target).await.context("reverting the latest migration")
    } else {
        hexyard_storage::MIGRATOR.run(&db.pool).await.context("migrating")
    };
    db.close().await;
    result?;
    eprintln!("{}", if revert { "reverted the latest migration" } else { "the database is up to date" });
    Ok(())
}

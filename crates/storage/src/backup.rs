//! The database side of backups: every table as of one snapshot (Postgres' own `COPY` text
//! format) with the blob keys that snapshot refers to, and the way back into an empty database.

use std::collections::{BTreeMap, BTreeSet};

use futures_util::TryStreamExt;
use sqlx::{Connection, PgPool};

use crate::{Result, StorageError};

/// One table's rows.
#[derive(Debug)]
pub struct Table {
    pub name: String,
    /// `COPY … TO STDOUT` output.
    pub rows: Vec<u8>,
}

/// The database as of one snapshot.
#[derive(Debug)]
pub struct Snapshot {
    /// The applied migrations' versions.
    pub migrations: Vec<i64>,
    /// Every table, each after the tables it refers to.
    pub tables: Vec<Table>,
    /// The blobs the rows refer to: tarballs and docs, which must be there.
    pub blobs: BTreeSet<String>,
    /// The mirror's cache, which the upstream could fill again.
    pub cache_blobs: BTreeSet<String>,
}

/// Reads every table and the blob keys they imply in one read-only, repeatable-read
/// transaction: a consistent snapshot while the server keeps serving and publishing.
pub async fn snapshot(pool: &PgPool) -> Result<Snapshot> {
    let mut conn = pool.acquire().await?;
    let mut tx = conn.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY").execute(&mut *tx).await?;
    let migrations: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
            .fetch_all(&mut *tx)
            .await?;
    let mut tables = Vec::new();
    for name in ordered_tables(&mut tx).await? {
        let mut rows = Vec::new();
        let mut out = tx.copy_out_raw(&format!("COPY {} TO STDOUT", quoted(&name))).await?;
        while let Some(chunk) = out.try_next().await? {
            rows.extend_from_slice(&chunk);
        }
        drop(out);
        tables.push(Table { name, rows });
    }
    let (blob_keys, cache_blobs) = crate::blob_refs::referenced(&mut tx).await?;
    tx.commit().await?;
    Ok(Snapshot { migrations, tables, blobs: blob_keys, cache_blobs })
}

/// The tables of the schema (the migrations' bookkeeping aside), each after every table it
/// has a foreign key to, so that loading them in this order satisfies every constraint.
async fn ordered_tables(conn: &mut sqlx::PgConnection) -> Result<Vec<String>> {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema() \
         AND tablename <> '_sqlx_migrations' ORDER BY tablename",
    )
    .fetch_all(&mut *conn)
    .await?;
    let edges: Vec<(String, String)> = sqlx::query_as(
        "SELECT c.conrelid::regclass::text, c.confrelid::regclass::text FROM pg_constraint c \
         WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut needs: BTreeMap<&str, BTreeSet<&str>> = names.iter().map(|n| (n.as_str(), BTreeSet::new())).collect();
    for (table, referenced) in &edges {
        if table != referenced
            && let Some(set) = needs.get_mut(table.as_str())
        {
            set.insert(referenced.as_str());
        }
    }
    let mut ordered: Vec<String> = Vec::new();
    while ordered.len() < names.len() {
        let ready: Vec<&str> = needs
            .iter()
            .filter(|(name, deps)| {
                !ordered.iter().any(|o| o == *name) && deps.iter().all(|d| ordered.iter().any(|o| o == d))
            })
            .map(|(name, _)| *name)
            .collect();
        if ready.is_empty() {
            return Err(StorageError::Backup("the tables' foreign keys form a cycle".into()));
        }
        ordered.extend(ready.into_iter().map(str::to_owned));
    }
    Ok(ordered)
}

/// Loads `tables` (in their order) into the database, whose schema must be at the same
/// migration and every table empty, in one transaction; then moves every sequence past the
/// ids loaded.
pub async fn load(pool: &PgPool, tables: &[Table]) -> Result<()> {
    let mut conn = pool.acquire().await?;
    let mut tx = conn.begin().await?;
    for table in tables {
        if has_rows(&mut tx, &table.name).await? {
            return Err(StorageError::Backup(format!(
                "table {} is not empty: restore into an empty database",
                table.name
            )));
        }
        let mut copy = tx.copy_in_raw(&format!("COPY {} FROM STDIN", quoted(&table.name))).await?;
        copy.send(table.rows.as_slice()).await?;
        copy.finish().await?;
    }
    let sequences: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text, pg_get_serial_sequence(quote_ident(table_name), column_name) \
         FROM information_schema.columns WHERE table_schema = current_schema() \
         AND pg_get_serial_sequence(quote_ident(table_name), column_name) IS NOT NULL",
    )
    .fetch_all(&mut *tx)
    .await?;
    for (table, column, sequence) in sequences {
        sqlx::query(&format!(
            "SELECT setval($1::regclass, COALESCE((SELECT max({}) FROM {}), 1), \
             (SELECT max({}) FROM {}) IS NOT NULL)",
            quoted(&column),
            quoted(&table),
            quoted(&column),
            quoted(&table)
        ))
        .bind(&sequence)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Whether the database holds nothing yet (no migration applied, or every table empty).
pub async fn is_empty(pool: &PgPool) -> Result<bool> {
    let mut conn = pool.acquire().await?;
    // (the migrations' bookkeeping is not among these tables)
    for name in ordered_tables(&mut conn).await? {
        if has_rows(&mut conn, &name).await? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Applies the migrations up to `version` and no further: the schema a backup was made at.
/// (On a database migrated past it, the later migrations are undone first: they hold no
/// data yet, since the database is empty.)
pub async fn migrate_to(pool: &PgPool, version: i64) -> Result<()> {
    crate::MIGRATOR.run(pool).await?;
    crate::MIGRATOR.undo(pool, version).await?;
    Ok(())
}

/// Whether a table holds any row.
async fn has_rows(conn: &mut sqlx::PgConnection, table: &str) -> Result<bool> {
    Ok(sqlx::query_scalar(&format!("SELECT EXISTS (SELECT 1 FROM {})", quoted(table))).fetch_one(&mut *conn).await?)
}

/// An identifier quoted for SQL (names come from the catalog, never from users).
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

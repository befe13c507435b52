//! `hexyard backup FILE` and `hexyard restore FILE`: one gzipped tar of the database as of one
//! snapshot, every blob it refers to, the signing keys, and (only when asked) the server secret.
//!
//! The archive, in this order: `manifest.json`, `keys/REPO.pem`, `secret` (with
//! `--include-secrets`), `database/NNN-TABLE.copy` (Postgres' `COPY` text format, each table
//! after those it refers to), `blobs/KEY`.

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use hexyard_storage::backup::{self, Table};
use hexyard_storage::blobs::BlobStore;
use indicatif::{ProgressBar, ProgressStyle};

use crate::config::Config;
use crate::database::Database;

/// The archive format this build writes and reads.
const FORMAT: u32 = 1;

#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Manifest {
    format: u32,
    hexyard: String,
    created_at: String,
    repository: String,
    migrations: Vec<i64>,
    tables: Vec<String>,
    blobs: usize,
    secret: bool,
}

pub async fn backup(config: Config, file: PathBuf, include_secrets: bool) -> anyhow::Result<()> {
    let db = Database::open(&config, 4).await?;
    let result = write_backup(&config, &db, &file, include_secrets).await;
    db.close().await;
    result
}

async fn write_backup(config: &Config, db: &Database, file: &Path, include_secrets: bool) -> anyhow::Result<()> {
    let blobs = BlobStore::open(config.blob_store.as_deref(), &config.data_dir.join("blobs"))?;
    let snapshot = backup::snapshot(&db.pool).await.context("reading the database")?;
    let secret = if include_secrets { Some(crate::secrets::server_secret_text(config)?) } else { None };
    let keys = signing_keys(&config.data_dir.join("keys"))?;

    // written beside the target and renamed at the end: never a half-written FILE
    let partial = file.with_extension("partial");
    let out = std::fs::File::create(&partial).with_context(|| format!("creating {}", partial.display()))?;
    let mut tar =
        tar::Builder::new(flate2::write::GzEncoder::new(std::io::BufWriter::new(out), flate2::Compression::fast()));
    let manifest = Manifest {
        format: FORMAT,
        hexyard: env!("CARGO_PKG_VERSION").to_owned(),
        created_at: time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339)?,
        repository: config.repository.clone(),
        migrations: snapshot.migrations.clone(),
        tables: snapshot.tables.iter().map(|t| t.name.clone()).collect(),
        blobs: snapshot.blobs.len() + snapshot.cache_blobs.len(),
        secret: secret.is_some(),
    };
    append(&mut tar, "manifest.json", &serde_json::to_vec_pretty(&manifest)?)?;
    for (name, pem) in &keys {
        append(&mut tar, &format!("keys/{name}"), pem)?;
    }
    if let Some(secret) = &secret {
        append(&mut tar, "secret", secret.as_bytes())?;
    }
    for (i, table) in snapshot.tables.iter().enumerate() {
        append(&mut tar, &format!("database/{i:03}-{}.copy", table.name), &table.rows)?;
    }
    let bar = bar(manifest.blobs as u64, "blobs");
    let mut missing_cache = 0;
    for key in &snapshot.blobs {
        let bytes = blobs.get(key).await?.with_context(|| format!("blob {key} is referenced but missing"))?;
        append(&mut tar, &format!("blobs/{key}"), &bytes)?;
        bar.inc(1);
    }
    for key in &snapshot.cache_blobs {
        // the mirror's cache can be fetched again: a blob gone meanwhile is left out
        match blobs.get(key).await? {
            Some(bytes) => append(&mut tar, &format!("blobs/{key}"), &bytes)?,
            None => missing_cache += 1,
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    let mut out = tar.into_inner()?.finish()?;
    out.flush()?;
    out.get_ref().sync_all()?;
    drop(out);
    std::fs::rename(&partial, file).with_context(|| format!("renaming to {}", file.display()))?;
    let size = std::fs::metadata(file)?.len();
    println!(
        "backed up {} tables, {} blobs and {} signing key(s){} to {} ({size} bytes)",
        snapshot.tables.len(),
        manifest.blobs - missing_cache,
        keys.len(),
        if include_secrets { ", with the server secret" } else { ", without the server secret" },
        file.display()
    );
    if missing_cache > 0 {
        println!("{missing_cache} mirror cache blob(s) were gone and are left out: the mirror fetches them again");
    }
    if !include_secrets && config.secret.is_none() {
        println!("keep DATA_DIR/secret (or HEXYARD_SECRET) too: API keys, 2FA and organizations' keys need it");
    }
    Ok(())
}

/// The `*.pem` files of the keys directory, by file name.
fn signing_keys(dir: &Path) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    let mut keys = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(keys),
        Err(e) => return Err(e).with_context(|| format!("reading {}", dir.display())),
    };
    for entry in entries {
        let path = entry?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else { continue };
        if name.ends_with(".pem") {
            keys.push((name.to_owned(), std::fs::read(&path)?));
        }
    }
    keys.sort();
    Ok(keys)
}

fn append<W: Write>(tar: &mut tar::Builder<W>, path: &str, bytes: &[u8]) -> anyhow::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_size(bytes.len() as u64);
    header.set_mode(0o600);
    header.set_entry_type(tar::EntryType::Regular);
    tar.append_data(&mut header, path, bytes).with_context(|| format!("writing {path}"))?;
    Ok(())
}

fn bar(len: u64, what: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template(&format!("[{{bar:30}}] {{pos}}/{{len}} {what}, {{elapsed}}"))
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar
}

pub async fn restore(config: Config, file: PathBuf) -> anyhow::Result<()> {
    let db = Database::open(&config, 4).await?;
    let result = read_backup(&config, &db, &file).await;
    db.close().await;
    result
}

async fn read_backup(config: &Config, db: &Database, file: &Path) -> anyhow::Result<()> {
    let input = std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(std::io::BufReader::new(input)));
    let mut entries = archive.entries()?;
    let manifest: Manifest = {
        let mut first = entries.next().context("an empty archive")??;
        anyhow::ensure!(first.path()?.as_ref() == Path::new("manifest.json"), "not a hexyard backup (no manifest)");
        serde_json::from_slice(&read_all(&mut first)?).context("the manifest")?
    };
    if manifest.format != FORMAT {
        bail!("backup format {} is not one this build reads ({FORMAT})", manifest.format);
    }
    let known: Vec<i64> = hexyard_storage::MIGRATOR.iter().map(|m| m.version).collect();
    let Some(&at) = manifest.migrations.last() else { bail!("the backup names no migration") };
    if manifest.migrations.iter().any(|v| !known.contains(v)) {
        bail!("the backup was made by a newer hexyard (migration {at}): restore it with that version");
    }
    if manifest.repository != config.repository {
        bail!(
            "the backup is of repository {:?}, this configuration's is {:?} (HEXYARD_REPOSITORY)",
            manifest.repository,
            config.repository
        );
    }
    // (checked before the schema is brought to the backup's migration, which undoes later ones)
    if !backup::is_empty(&db.pool).await? {
        bail!("the database is not empty: restore into a new data dir or an empty database");
    }
    backup::migrate_to(&db.pool, at).await.context("preparing the schema")?;
    let keys_dir = config.data_dir.join("keys");
    let blobs = BlobStore::open(config.blob_store.as_deref(), &config.data_dir.join("blobs"))?;
    let mut tables = Vec::new();
    let bar = bar(manifest.blobs as u64, "blobs");
    let mut restored_blobs = 0;
    for entry in entries {
        let mut entry = entry?;
        let path = entry.path()?.to_string_lossy().into_owned();
        let bytes = read_all(&mut entry)?;
        if let Some(name) = path.strip_prefix("keys/") {
            // a file name of the keys directory, never a path out of it
            anyhow::ensure!(
                name.ends_with(".pem") && !name.contains(['/', '\\']) && !name.starts_with('.'),
                "unexpected key file {path:?}"
            );
            write_new(&keys_dir.join(name), &bytes)?;
        } else if path == "secret" {
            if config.secret.is_some() {
                println!("the backup's server secret is not written: HEXYARD_SECRET is set (it must be the same)");
            } else {
                write_new(&config.data_dir.join("secret"), &bytes)?;
            }
        } else if let Some(table) = path.strip_prefix("database/").and_then(|n| n.strip_suffix(".copy")) {
            let name = table.split_once('-').map_or(table, |(_, n)| n);
            anyhow::ensure!(manifest.tables.iter().any(|t| t == name), "unexpected table {name:?}");
            tables.push(Table { name: name.to_owned(), rows: bytes });
        } else if let Some(key) = path.strip_prefix("blobs/") {
            // keys are the server's own (checksums, names it validated): nothing else is taken
            anyhow::ensure!(
                !key.split('/').any(|part| part.is_empty() || part == "." || part == ".."),
                "unexpected blob {path:?}"
            );
            blobs.put(key, bytes.into()).await?;
            restored_blobs += 1;
            bar.inc(1);
        } else {
            bail!("unexpected entry {path:?} in the backup");
        }
    }
    bar.finish_and_clear();
    anyhow::ensure!(tables.len() == manifest.tables.len(), "the backup is truncated: tables are missing");
    backup::load(&db.pool, &tables).await.context("loading the tables")?;
    hexyard_storage::migrate(&db.pool).await.context("migrating the restored database")?;
    println!(
        "restored {} tables and {restored_blobs} blobs from {} (made {}{})",
        tables.len(),
        file.display(),
        manifest.created_at,
        if manifest.secret { ", with the server secret" } else { "" }
    );
    if !manifest.secret && config.secret.is_none() {
        println!(
            "the backup holds no server secret: put the old one in {} (or HEXYARD_SECRET) before serving",
            config.data_dir.join("secret").display()
        );
    }
    println!("check it with: hexyard registry verify");
    Ok(())
}

fn read_all(entry: &mut impl Read) -> anyhow::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    entry.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Writes a file that must not exist yet (or already holds the same bytes).
fn write_new(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    match std::fs::read(path) {
        Ok(existing) if existing == bytes => return Ok(()),
        Ok(_) => bail!("{} exists and differs from the backup's: restore into a new data dir", path.display()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(bytes)?;
    Ok(())
}

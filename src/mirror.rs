//! `hexyard mirror sync|status`: fill the mirror's cache ahead of time (for networks that will
//! not reach the upstream), and tell what it holds.

use std::io::IsTerminal;
use std::sync::Arc;

use anyhow::{anyhow, bail};
use clap::{Subcommand, ValueEnum};
use hexyard_service::mirror::sync::{self, Progress, SyncRequest, Versions};
use hexyard_service::mirror::{Mirror, MirrorError};
use indicatif::{ProgressBar, ProgressStyle};

use crate::config::Config;
use crate::database::Database;
use crate::services::for_admin;

#[derive(Debug, Subcommand)]
pub enum MirrorCommand {
    /// Fetch packages and their tarballs from the upstream into the cache. Run it again to
    /// resume: cached tarballs are skipped.
    Sync {
        /// Packages to fetch (with --all, in addition to every package).
        packages: Vec<String>,
        /// Every package the upstream has.
        #[arg(long)]
        all: bool,
        /// Also their dependencies, recursively (not optional ones): for each requirement, the
        /// latest version that meets it (with --versions all, every one).
        #[arg(long)]
        with_deps: bool,
        /// Which versions of the named packages.
        #[arg(long, value_enum, default_value_t = VersionsArg::Latest)]
        versions: VersionsArg,
        /// Tarballs fetched at once.
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
    },
    /// What the cache holds, and the last sync.
    Status,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum VersionsArg {
    Latest,
    All,
}

pub async fn run(cmd: MirrorCommand, config: Config) -> anyhow::Result<()> {
    let db = Database::open(&config, 8).await?;
    let result = async {
        let services = for_admin(&config, &db).await?;
        let Some(mirror) = services.mirror.clone() else { bail!("the mirror is off (HEXYARD_MIRROR=off)") };
        match cmd {
            MirrorCommand::Sync { packages, all, with_deps, versions, concurrency } => {
                if packages.is_empty() && !all {
                    bail!("name packages to sync, or --all");
                }
                let versions = match versions {
                    VersionsArg::Latest => Versions::Latest,
                    VersionsArg::All => Versions::All,
                };
                let request = SyncRequest { packages, all, with_deps, versions, concurrency };
                run_sync(&mirror, &request).await
            }
            MirrorCommand::Status => status(&mirror, &services).await,
        }
    }
    .await;
    db.close().await;
    result
}

async fn run_sync(mirror: &Arc<Mirror>, request: &SyncRequest) -> anyhow::Result<()> {
    eprintln!("syncing from {}", mirror.settings.url);
    let progress = Bar::new();
    let report = sync::sync(mirror, request, &progress).await.map_err(|e| anyhow!(e.chain()))?;
    progress.bar.finish_and_clear();
    println!(
        "{} packages, {} tarballs: {} fetched now, {} cached before, {} failed",
        report.packages,
        report.tarballs,
        report.fetched,
        report.cached,
        report.failures.len()
    );
    for (what, why) in &report.failures {
        println!("failed: {what}: {why}");
    }
    if !report.failures.is_empty() {
        bail!("{} failure(s); run the same command again to retry them", report.failures.len());
    }
    Ok(())
}

/// A progress bar on a terminal; a line per tarball otherwise (CI logs).
struct Bar {
    bar: ProgressBar,
    terminal: bool,
}

impl Bar {
    fn new() -> Self {
        let terminal = std::io::stderr().is_terminal();
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {pos}/{len} tarballs, {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        Bar { bar, terminal }
    }
}

impl Progress for Bar {
    fn resolving(&self, package: &str) {
        self.bar.set_message(format!("resolving {package}"));
        self.bar.tick();
    }

    fn planned(&self, tarballs: usize, cached: usize) {
        self.bar.set_length(tarballs as u64);
        self.bar.set_position(cached as u64);
        self.bar.set_message("fetching");
        if !self.terminal {
            eprintln!("{tarballs} tarballs wanted, {cached} cached already");
        }
    }

    fn fetched(&self, tarball: &str, outcome: Result<usize, &MirrorError>) {
        self.bar.inc(1);
        match outcome {
            Ok(bytes) if !self.terminal => eprintln!("fetched {tarball}.tar ({bytes} bytes)"),
            Ok(_) => {}
            Err(e) => self.bar.println(format!("failed {tarball}.tar: {e}")),
        }
    }
}

async fn status(mirror: &Mirror, services: &hexyard_service::Services) -> anyhow::Result<()> {
    let status = hexyard_service::mirror::status(services).await.map_err(|e| anyhow!(e.chain()))?;
    let settings = &mirror.settings;
    println!("upstream:        {} (repository {})", settings.url, settings.repository);
    println!("offline:         {}", settings.offline);
    println!("revalidated:     after {} s", settings.max_age.as_secs());
    println!("packages cached: {}", status.totals.packages);
    println!("tarballs cached: {} ({} bytes)", status.totals.tarballs, status.totals.tarball_bytes);
    println!("other resources: {} ({} bytes)", status.totals.resources, status.totals.resource_bytes);
    let limit = settings.max_bytes.map_or_else(|| "no limit".to_owned(), |m| format!("limit {m} bytes"));
    let over = settings.max_bytes.is_some_and(|m| status.totals.bytes() as u64 > m);
    println!(
        "cache size:      {} bytes ({limit}){}",
        status.totals.bytes(),
        if over { " — OVER THE LIMIT" } else { "" }
    );
    match status.last_sync {
        None => println!("last sync:       never"),
        Some(s) => println!(
            "last sync:       started {}, {}: {} packages, {} tarballs fetched, {} failures",
            s.started_at,
            s.finished_at.map_or_else(|| "not finished".to_owned(), |t| format!("finished {t}")),
            s.packages,
            s.tarballs,
            s.failures
        ),
    }
    Ok(())
}

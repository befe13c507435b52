//! `hexyard tarball`: look inside package tarballs.

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use hexyard_tarball::{Limits, hex_lower};

#[derive(Debug, Subcommand)]
pub enum TarballCommand {
    /// Validate a package tarball as the server would and print its name, version, inner and
    /// outer checksums (lowercase hex, as in mix.lock) and metadata as JSON.
    Inspect { file: PathBuf },
}

pub fn run(cmd: TarballCommand) -> anyhow::Result<()> {
    match cmd {
        TarballCommand::Inspect { file } => {
            let bytes = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let package = hexyard_tarball::read(&bytes, &Limits::default())
                .with_context(|| format!("{} is not a valid package tarball", file.display()))?;
            let out = serde_json::json!({
                "name": package.metadata.name,
                "version": package.metadata.version,
                "inner_checksum": hex_lower(&package.inner_checksum),
                "outer_checksum": hex_lower(&package.outer_checksum),
                "metadata": package.metadata,
            });
            println!("{}", serde_json::to_string_pretty(&out)?);
            Ok(())
        }
    }
}

//! Configuration from `HEXYARD_*` environment variables (the README lists every one).

use std::path::PathBuf;

/// The settings the commands share.
#[derive(Debug, Clone)]
pub struct Config {
    /// `HEXYARD_DATA_DIR`: generated keys, and later the embedded database and blobs.
    pub data_dir: PathBuf,
    /// `HEXYARD_REPOSITORY`: the name of the instance's public repository.
    pub repository: String,
}

impl Config {
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Config {
            data_dir: var("HEXYARD_DATA_DIR").map_or_else(|| PathBuf::from("./hexyard-data"), PathBuf::from),
            repository: var("HEXYARD_REPOSITORY").unwrap_or_else(|| "hexyard".to_owned()),
        }
    }

    /// Where the signing key of `repository` is kept.
    pub fn key_path(&self, repository: &str) -> PathBuf {
        self.data_dir.join("keys").join(format!("{repository}.pem"))
    }
}

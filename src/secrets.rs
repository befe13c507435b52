//! The server secret and the repository signing keys: taken from the configuration, or made
//! once and kept in the data dir (readable by their owner only).

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use hexyard_auth::ServerSecret;
use hexyard_registry::SigningKey;

use crate::config::Config;

/// The server secret's text (`HEXYARD_SECRET`, or `DATA_DIR/secret`, generated on first use), from which every derived key is made.
pub fn server_secret_text(config: &Config) -> anyhow::Result<String> {
    if let Some(secret) = &config.secret {
        return Ok(secret.clone());
    }
    let path = config.data_dir.join("secret");
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let text = ServerSecret::generate_text();
            write_private(&path, text.as_bytes())?;
            text
        }
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    Ok(text.trim().to_owned())
}

/// The signing key of `repository` from `DATA_DIR/keys`, generated on first use.
pub fn signing_key(config: &Config, repository: &str) -> anyhow::Result<SigningKey> {
    let path = config.key_path(repository);
    match std::fs::read_to_string(&path) {
        Ok(pem) => SigningKey::from_pem(&pem).with_context(|| format!("reading {}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = SigningKey::generate()?;
            write_private(&path, key.to_pem().as_bytes())?;
            tracing::info!(path = %path.display(), "generated the signing key of repository {repository}");
            Ok(key)
        }
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// Writes a secret readable by its owner only, never leaving a half-written file behind.
pub fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        std::process::id(),
        path.file_name().and_then(|n| n.to_str()).unwrap_or("secret")
    ));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

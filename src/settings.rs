//! Where the settings come from: an optional TOML file (`--config FILE` or `HEXYARD_CONFIG`)
//! under the `HEXYARD_*` environment, the environment winning, layered by figment. The file's
//! keys are the variables' names without `HEXYARD_`, in lower case (`listen`, `mirror_url`).
//! [`SETTINGS`] is the one list of what is read; the README's table lists the same names, and a
//! test holds the two (and the code) together.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use figment::Figment;
use figment::providers::{Format, Serialized, Toml};

/// One setting: its variable, and whether `config check` masks its value.
#[derive(Debug, Clone, Copy)]
pub struct Setting {
    pub name: &'static str,
    pub mask: Mask,
}

/// How a setting's value is shown by `config check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mask {
    None,
    /// Wholly secret.
    All,
    /// A URL whose password is secret.
    Password,
}

const fn plain(name: &'static str) -> Setting {
    Setting { name, mask: Mask::None }
}

/// Every setting hexyard reads, in the README's order.
pub const SETTINGS: &[Setting] = &[
    plain("HEXYARD_LISTEN"),
    plain("HEXYARD_PUBLIC_URL"),
    plain("HEXYARD_DATA_DIR"),
    Setting { name: "HEXYARD_DATABASE_URL", mask: Mask::Password },
    plain("HEXYARD_DATABASE_POOL_SIZE"),
    plain("HEXYARD_BLOB_STORE"),
    plain("HEXYARD_REPOSITORY"),
    Setting { name: "HEXYARD_SECRET", mask: Mask::All },
    plain("HEXYARD_LOG"),
    plain("HEXYARD_LOG_FORMAT"),
    Setting { name: "HEXYARD_SMTP_URL", mask: Mask::Password },
    plain("HEXYARD_MAIL_FROM"),
    plain("HEXYARD_OAUTH_CLIENTS"),
    plain("HEXYARD_RATE_LIMIT_ANONYMOUS"),
    plain("HEXYARD_RATE_LIMIT_AUTHENTICATED"),
    plain("HEXYARD_DOWNLOADS_FLUSH_SECONDS"),
    plain("HEXYARD_COUNT_DOWNLOADS"),
    plain("HEXYARD_METRICS"),
    Setting { name: "HEXYARD_METRICS_TOKEN", mask: Mask::All },
    plain("HEXYARD_SHUTDOWN_SECONDS"),
    plain("HEXYARD_MIRROR"),
    plain("HEXYARD_MIRROR_URL"),
    plain("HEXYARD_MIRROR_PUBLIC_KEY"),
    plain("HEXYARD_MIRROR_REPOSITORY"),
    plain("HEXYARD_MIRROR_MAX_AGE_SECONDS"),
    plain("HEXYARD_MIRROR_TIMEOUT_SECONDS"),
    plain("HEXYARD_MIRROR_OFFLINE"),
    plain("HEXYARD_MIRROR_AUTH"),
    plain("HEXYARD_MIRROR_MAX_BYTES"),
];

/// The variable that names the file, when `--config` is not given.
pub const CONFIG_VAR: &str = "HEXYARD_CONFIG";

const PREFIX: &str = "HEXYARD_";

/// Where a value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    File,
    Environment,
}

/// The settings given, by variable name (empty values count as not given).
#[derive(Debug, Default)]
pub struct Sources {
    values: BTreeMap<&'static str, (String, Origin)>,
    pub file: Option<PathBuf>,
}

/// A file's value: TOML strings, numbers and booleans are all read as text, as the
/// environment's are.
#[derive(Debug, serde::Deserialize, serde::Serialize)]
#[serde(untagged)]
enum Scalar {
    Text(String),
    Integer(i64),
    Float(f64),
    Bool(bool),
}

impl Scalar {
    fn into_text(self) -> String {
        match self {
            Scalar::Text(s) => s,
            Scalar::Integer(n) => n.to_string(),
            Scalar::Float(n) => n.to_string(),
            Scalar::Bool(b) => b.to_string(),
        }
    }
}

impl Sources {
    /// The file (`file`, else `HEXYARD_CONFIG`), under this process's environment.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Sources> {
        let env: BTreeMap<String, String> = std::env::vars().filter(|(k, _)| k.starts_with(PREFIX)).collect();
        let file =
            file.map(Path::to_path_buf).or_else(|| env.get(CONFIG_VAR).filter(|v| !v.is_empty()).map(PathBuf::from));
        Self::from_parts(file, env)
    }

    /// The file under the given `HEXYARD_*` variables (other names are ignored: they belong to
    /// the tests or to no one).
    pub fn from_parts(file: Option<PathBuf>, env: BTreeMap<String, String>) -> anyhow::Result<Sources> {
        let mut figment = Figment::new();
        if let Some(path) = &file {
            anyhow::ensure!(path.is_file(), "the configuration file {} does not exist", path.display());
            // the file alone first: every key it has must be a setting
            let keys: BTreeMap<String, figment::value::Value> = Figment::from(Toml::file_exact(path))
                .extract()
                .with_context(|| format!("reading {}", path.display()))?;
            for key in keys.keys() {
                if setting(&format!("{PREFIX}{}", key.to_ascii_uppercase())).is_none()
                    || key.to_ascii_lowercase() != *key
                {
                    anyhow::bail!(
                        "{}: unknown key `{key}` (keys are the HEXYARD_* variables' names in lower case, without \
                         the prefix, e.g. `listen` for HEXYARD_LISTEN)",
                        path.display()
                    );
                }
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        let env: BTreeMap<String, String> = env
            .into_iter()
            .filter_map(|(k, v)| {
                let known = setting(&k)?;
                Some((known.name[PREFIX.len()..].to_ascii_lowercase(), v))
            })
            .collect();
        let from_env: Vec<String> = env.iter().filter(|(_, v)| !v.trim().is_empty()).map(|(k, _)| k.clone()).collect();
        // the environment's values stay text: figment's own environment provider would read
        // `007` as a number and `[x]` as a list
        figment = figment.merge(Serialized::defaults(env));
        let merged: BTreeMap<String, Scalar> = figment.extract().map_err(|e| {
            let file = file.as_ref().map_or_else(String::new, |p| format!("{}: ", p.display()));
            anyhow::anyhow!("{file}{e} (a setting is a string, number or boolean)")
        })?;
        let mut values = BTreeMap::new();
        for (key, value) in merged {
            let name = format!("{PREFIX}{}", key.to_ascii_uppercase());
            let Some(known) = setting(&name) else { continue };
            let text = value.into_text();
            if text.trim().is_empty() {
                continue;
            }
            let origin = if from_env.contains(&key) { Origin::Environment } else { Origin::File };
            values.insert(known.name, (text, origin));
        }
        Ok(Sources { values, file })
    }

    /// The value of `name`, one of [`SETTINGS`].
    pub fn get(&self, name: &str) -> Option<String> {
        debug_assert!(setting(name).is_some(), "{name} is not in SETTINGS");
        self.values.get(name).map(|(v, _)| v.clone())
    }

    /// The value and where it came from.
    pub fn origin(&self, name: &str) -> Option<(&str, Origin)> {
        self.values.get(name).map(|(v, o)| (v.as_str(), *o))
    }
}

fn setting(name: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|s| s.name == name)
}

/// `value` as `config check` shows it.
pub fn masked(setting: &Setting, value: &str) -> String {
    match setting.mask {
        Mask::None => value.to_owned(),
        Mask::All => "********".to_owned(),
        Mask::Password => match (value.find("://"), value.rfind('@')) {
            (Some(scheme), Some(at)) if at > scheme => {
                let userinfo = &value[scheme + 3..at];
                match userinfo.split_once(':') {
                    Some((user, _)) => format!("{}{user}:********{}", &value[..scheme + 3], &value[at..]),
                    None => value.to_owned(),
                }
            }
            _ => value.to_owned(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    fn file(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hexyard.toml");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn the_environment_wins_over_the_file() {
        let (_dir, path) = file("listen = \"0.0.0.0:4001\"\nrepository = \"acme\"\nmirror_max_age_seconds = 60\n");
        let sources =
            Sources::from_parts(Some(path), env(&[("HEXYARD_LISTEN", "127.0.0.1:5000"), ("HEXYARD_FIXTURES", "x")]))
                .unwrap();
        assert_eq!(sources.origin("HEXYARD_LISTEN"), Some(("127.0.0.1:5000", Origin::Environment)));
        assert_eq!(sources.origin("HEXYARD_REPOSITORY"), Some(("acme", Origin::File)));
        // numbers in the file are read as the environment's text would be
        assert_eq!(sources.get("HEXYARD_MIRROR_MAX_AGE_SECONDS").as_deref(), Some("60"));
    }

    #[test]
    fn environment_values_are_taken_verbatim() {
        let sources =
            Sources::from_parts(None, env(&[("HEXYARD_SECRET", "007"), ("HEXYARD_MAIL_FROM", "[x]")])).unwrap();
        assert_eq!(sources.get("HEXYARD_SECRET").as_deref(), Some("007"));
        assert_eq!(sources.get("HEXYARD_MAIL_FROM").as_deref(), Some("[x]"));
        // an empty variable is as good as unset, and does not hide the file's value
        let (_dir, path) = file("repository = \"acme\"\n");
        let sources = Sources::from_parts(Some(path), env(&[("HEXYARD_REPOSITORY", "")])).unwrap();
        assert_eq!(sources.get("HEXYARD_REPOSITORY"), None);
    }

    #[test]
    fn unknown_keys_are_refused_by_name() {
        for text in ["listen = \"x\"\nlisten_port = 4000\n", "LISTEN = \"x\"\n", "[server]\nlisten = \"x\"\n"] {
            let (_dir, path) = file(text);
            let e = Sources::from_parts(Some(path), BTreeMap::new()).unwrap_err().to_string();
            assert!(e.contains("unknown key"), "{text}: {e}");
        }
        // a setting's name with a list or a table (keys are flat: `mirror_url`, not [mirror] url)
        for text in ["listen = [1, 2]\n", "[mirror]\nurl = \"x\"\n"] {
            let (_dir, path) = file(text);
            let e = format!("{:#}", Sources::from_parts(Some(path), BTreeMap::new()).unwrap_err());
            let key = text.trim_start_matches('[').split([' ', ']']).next().unwrap();
            assert!(e.contains(key) && e.contains("string, number or boolean"), "{e}");
        }
        let e = Sources::from_parts(Some("/nonexistent/hexyard.toml".into()), BTreeMap::new()).unwrap_err();
        assert!(e.to_string().contains("does not exist"), "{e}");
    }

    #[test]
    fn secrets_are_masked() {
        let database = setting("HEXYARD_DATABASE_URL").unwrap();
        assert_eq!(masked(database, "postgres://u:pw@host/db"), "postgres://u:********@host/db");
        assert_eq!(masked(database, "postgres:///db?host=/run"), "postgres:///db?host=/run");
        assert_eq!(masked(setting("HEXYARD_SECRET").unwrap(), "abc"), "********");
    }
}

/// The README's configuration table, the code and [`SETTINGS`] name the same settings.
#[cfg(test)]
mod documented {
    use std::collections::BTreeSet;

    fn names_in(text: &str) -> BTreeSet<String> {
        let mut names = BTreeSet::new();
        let mut rest = text;
        while let Some(at) = rest.find("HEXYARD_") {
            let tail = &rest[at..];
            let end =
                tail.find(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')).unwrap_or(tail.len());
            names.insert(tail[..end].trim_end_matches('_').to_owned());
            rest = &tail[end..];
        }
        names
    }

    fn sources(dir: &std::path::Path, into: &mut Vec<(std::path::PathBuf, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                sources(&path, into);
            } else if path.extension().is_some_and(|e| e == "rs") {
                into.push((path.clone(), std::fs::read_to_string(&path).unwrap()));
            }
        }
    }

    #[test]
    fn every_setting_read_is_in_the_readme_table() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
        let table: BTreeSet<String> = readme
            .lines()
            .filter(|l| l.starts_with("| `HEXYARD_"))
            .filter_map(|l| l.split('`').nth(1).map(str::to_owned))
            .collect();
        let listed: BTreeSet<String> = super::SETTINGS.iter().map(|s| s.name.to_owned()).collect();
        let mut table_without_file = table.clone();
        table_without_file.remove(super::CONFIG_VAR);
        assert_eq!(table_without_file, listed, "the README's table and SETTINGS differ");
        // every HEXYARD_ name in the server's code (the tests' own variables aside) is a setting
        let mut files = Vec::new();
        sources(&root.join("src"), &mut files);
        for entry in std::fs::read_dir(root.join("crates")).unwrap() {
            let crate_dir = entry.unwrap().path();
            if crate_dir.ends_with("testdb") {
                continue; // the test database's own HEXYARD_TEST_PG_DIR, documented with the tests
            }
            sources(&crate_dir.join("src"), &mut files);
        }
        for (path, text) in files {
            // code, not comments, and not tests (this file's name made-up variables on purpose)
            let text = text.split("#[cfg(test)]").next().unwrap_or_default();
            let code: String =
                text.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n");
            for name in names_in(&code) {
                if name == "HEXYARD" || name == "HEXYARD_" {
                    continue;
                }
                assert!(table.contains(&name), "{} reads {name}, which the README's table lacks", path.display());
            }
        }
    }

    /// The variables object_store's S3 client reads that the README documents.
    const AWS: &[&str] = &[
        "AWS_ENDPOINT_URL",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_REGION",
        "AWS_VIRTUAL_HOSTED_STYLE_REQUEST",
    ];

    #[test]
    fn the_compose_file_parses_and_sets_only_settings_hexyard_reads() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
        let out = std::process::Command::new("python3")
            .args(["-c", "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))"])
            .arg(root.join("docker-compose.yml"))
            .output()
            .expect("python3 with PyYAML (scripts/test installs it)");
        assert!(out.status.success(), "docker-compose.yml: {}", String::from_utf8_lossy(&out.stderr));
        let compose: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let services = compose["services"].as_object().expect("services");
        for needed in ["postgres", "minio", "hexyard"] {
            assert!(services.contains_key(needed), "no {needed} service");
        }
        let env = compose["services"]["hexyard"]["environment"].as_object().expect("hexyard's environment");
        let mut values = std::collections::BTreeMap::new();
        for (name, value) in env {
            let known = super::SETTINGS.iter().any(|s| s.name == name) || AWS.contains(&name.as_str());
            assert!(known, "docker-compose.yml sets {name}, which hexyard does not read");
            assert!(readme.contains(&format!("`{name}`")), "the README does not document {name}");
            values.insert(name.clone(), value.as_str().map_or_else(|| value.to_string(), str::to_owned));
        }
        // and the values are valid settings
        let sources = super::Sources::from_parts(None, values).unwrap();
        crate::config::Config::load(&sources).unwrap();

        let dockerfile = std::fs::read_to_string(root.join("Dockerfile")).unwrap();
        assert!(dockerfile.contains("HEALTHCHECK"), "the image checks /health");
        let user = dockerfile.lines().filter_map(|l| l.strip_prefix("USER ")).next_back().expect("a USER line");
        assert!(!["root", "0"].contains(&user.trim()), "the image runs as a non-root user");
        for name in names_in(&dockerfile) {
            assert!(
                super::SETTINGS.iter().any(|s| s.name == name),
                "the Dockerfile sets {name}, which hexyard does not read"
            );
        }
    }
}

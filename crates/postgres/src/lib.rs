//! The embedded Postgres cluster: with no `HEXYARD_DATABASE_URL`, hexyard runs a private cluster
//! from the machine's PostgreSQL binaries under `DATA_DIR/postgres`, reachable only through a
//! Unix socket in `DATA_DIR/postgres-run`. Postgres refuses to run as root, so when hexyard is
//! root (containers, CI) the cluster's processes run as the `postgres` system user.
//!
//! A cluster that is already running (a server started it, and an admin command runs beside it)
//! is used as it is and left running; one this process started is stopped when it drops.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use anyhow::{Context, bail};
use hexyard_storage::PgConnectOptions;

/// The database and superuser of the embedded cluster.
const NAME: &str = "hexyard";

/// A running embedded cluster.
#[derive(Debug)]
pub struct Embedded {
    bindir: PathBuf,
    data: PathBuf,
    socket_dir: PathBuf,
    owner: Option<(u32, u32)>,
    started_here: bool,
}

impl Embedded {
    /// Starts (or joins) the cluster under `data_dir`, creating it on first use.
    pub fn start(data_dir: &Path) -> anyhow::Result<Embedded> {
        let bindir = find_bindir()?;
        std::fs::create_dir_all(data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
        let data_dir = data_dir.canonicalize()?;
        let owner = cluster_owner()?;
        let data = data_dir.join("postgres");
        let socket_dir = data_dir.join("postgres-run");
        let mut embedded = Embedded { bindir, data, socket_dir, owner, started_here: false };
        if let Some((uid, gid)) = owner {
            // the cluster's user must reach its directories
            let mode = std::fs::metadata(&data_dir)?.permissions().mode();
            std::fs::set_permissions(&data_dir, std::fs::Permissions::from_mode(mode | 0o711))?;
            for dir in [&embedded.data, &embedded.socket_dir] {
                std::fs::create_dir_all(dir)?;
                std::os::unix::fs::chown(dir, Some(uid), Some(gid))?;
            }
            let probe = embedded.command("ls").arg(&embedded.data).output()?;
            if !probe.status.success() {
                bail!(
                    "the postgres user cannot reach {}: choose a HEXYARD_DATA_DIR whose parent directories \
                     others may enter, or set HEXYARD_DATABASE_URL",
                    embedded.data.display()
                );
            }
        } else {
            std::fs::create_dir_all(&embedded.data)?;
            std::fs::create_dir_all(&embedded.socket_dir)?;
        }
        std::fs::set_permissions(&embedded.data, std::fs::Permissions::from_mode(0o700))?;

        if !embedded.data.join("PG_VERSION").exists() {
            tracing::info!(dir = %embedded.data.display(), "creating the embedded Postgres cluster");
            let initdb = embedded.bin("initdb");
            let out = embedded
                .command(&initdb)
                .arg("-D")
                .arg(&embedded.data)
                .args(["-U", NAME, "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync"])
                .output()?;
            check(&out, "initdb")?;
        }
        if !embedded.running()? {
            embedded.start_server()?;
        }
        embedded.ensure_database()?;
        Ok(embedded)
    }

    /// Whether this process started the cluster (and so looks after it).
    pub fn started_here(&self) -> bool {
        self.started_here
    }

    /// Whether the postmaster is alive: the process its `postmaster.pid` names exists. (Cheap
    /// enough to ask every second.)
    pub fn is_alive(&self) -> bool {
        let pid = std::fs::read_to_string(self.data.join("postmaster.pid"))
            .ok()
            .and_then(|text| text.lines().next()?.trim().parse::<u32>().ok());
        pid.is_some_and(|pid| Path::new(&format!("/proc/{pid}")).exists())
    }

    /// Starts the cluster again after its postmaster died (Postgres recovers from its WAL).
    pub fn restart(&mut self) -> anyhow::Result<()> {
        self.start_server()
    }

    fn start_server(&mut self) -> anyhow::Result<()> {
        let options = format!(
            "-c listen_addresses='' -c unix_socket_directories='{}' -c max_connections=200 \
                 -c shared_buffers=128MB -c fsync=on",
            self.socket_dir.display()
        );
        let log = self.data.join("server.log");
        let out = self
            .command(self.bin("pg_ctl"))
            .arg("-D")
            .arg(&self.data)
            .arg("-l")
            .arg(&log)
            .args(["-w", "-t", "60", "-o", &options, "start"])
            .output()?;
        check(&out, "pg_ctl start").with_context(|| format!("see {}", log.display()))?;
        self.started_here = true;
        Ok(())
    }

    /// How to connect: the superuser over the cluster's socket.
    pub fn connect_options(&self) -> PgConnectOptions {
        PgConnectOptions::new().socket(&self.socket_dir).username(NAME).database(NAME)
    }

    fn running(&self) -> anyhow::Result<bool> {
        let out = self.command(self.bin("pg_ctl")).arg("-D").arg(&self.data).arg("status").output()?;
        Ok(out.status.success())
    }

    fn ensure_database(&self) -> anyhow::Result<()> {
        if self.psql(&format!("SELECT 1 FROM pg_database WHERE datname = '{NAME}'"))? != "1" {
            self.psql(&format!("CREATE DATABASE {NAME}")).context("creating the database")?;
        }
        Ok(())
    }

    fn bin(&self, name: &str) -> PathBuf {
        self.bindir.join(name)
    }

    /// A command run as the cluster's owner, from a directory that user can enter.
    fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new(program);
        cmd.current_dir("/").env("LC_ALL", "C").env_remove("PGDATA");
        if let Some((uid, gid)) = self.owner {
            cmd.uid(uid).gid(gid);
        }
        cmd
    }

    /// Leaves the cluster running when this is dropped, even if this process started it (the
    /// test databases share one cluster across test processes).
    pub fn keep_running(&mut self) {
        self.started_here = false;
    }

    /// Runs SQL on the cluster's `postgres` database as the superuser, with `psql`.
    pub fn psql(&self, sql: &str) -> anyhow::Result<String> {
        let out = self
            .command(self.bin("psql"))
            .arg("-h")
            .arg(&self.socket_dir)
            .args(["-U", NAME, "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-tAc", sql])
            .output()?;
        check(&out, "psql")?;
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }

    /// Stops the cluster if this process started it.
    pub fn stop(&mut self) {
        if !self.started_here {
            return;
        }
        self.started_here = false;
        let out =
            self.command(self.bin("pg_ctl")).arg("-D").arg(&self.data).args(["-m", "fast", "-w", "stop"]).output();
        match out {
            Ok(out) if out.status.success() => tracing::info!("stopped the embedded Postgres cluster"),
            Ok(out) => tracing::error!(stderr = %String::from_utf8_lossy(&out.stderr), "stopping Postgres failed"),
            Err(e) => tracing::error!(error = %e, "stopping Postgres failed"),
        }
    }
}

impl Drop for Embedded {
    fn drop(&mut self) {
        self.stop();
    }
}

fn check(out: &Output, what: &str) -> anyhow::Result<()> {
    if out.status.success() {
        Ok(())
    } else {
        bail!("{what} failed: {}{}", String::from_utf8_lossy(&out.stderr), String::from_utf8_lossy(&out.stdout))
    }
}

/// The directory of `initdb` and `pg_ctl`: `pg_config --bindir`, else the newest
/// `/usr/lib/postgresql/*/bin`.
fn find_bindir() -> anyhow::Result<PathBuf> {
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if out.status.success() && dir.join("initdb").exists() {
            return Ok(dir);
        }
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, bin)| bin.join("initdb").exists())
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin).context(
        "no PostgreSQL server binaries found (install postgresql, e.g. `apt-get install postgresql`), \
         or set HEXYARD_DATABASE_URL",
    )
}

/// The user the cluster runs as: the `postgres` system user when we are root, ourselves otherwise.
fn cluster_owner() -> anyhow::Result<Option<(u32, u32)>> {
    // /proc/self belongs to the effective user of this process
    if std::os::unix::fs::MetadataExt::uid(&std::fs::metadata("/proc/self")?) != 0 {
        return Ok(None);
    }
    let passwd = std::fs::read_to_string("/etc/passwd")?;
    let entry = passwd
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.first() == Some(&"postgres") && f.len() > 3)
        .context("running as root needs a `postgres` system user for the embedded cluster (apt-get install postgresql creates it)")?;
    Ok(Some((entry[2].parse()?, entry[3].parse()?)))
}

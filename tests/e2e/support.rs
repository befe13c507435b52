//! The harness: a real `hexyard serve` (embedded Postgres, own data dir) on a free port, an
//! HTTP client, tarballs built in code, and Erlang with rebar3's bundled hex_core.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use hexyard_core::{PackageName, RepositoryName, Requirement, Version};
use hexyard_tarball::{Dependency, Metadata};

pub fn fixtures() -> PathBuf {
    match std::env::var_os("HEXYARD_FIXTURES") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures"),
    }
}

/// Waits until something (`what`, for the failure message) accepts connections on `port` of
/// 127.0.0.1, at most `within`.
pub fn wait_for_port(port: u16, within: Duration, what: &str) {
    let deadline = Instant::now() + within;
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "{what} did not start within {within:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn fixture_tarball(file: &str) -> Vec<u8> {
    std::fs::read(fixtures().join("tarballs").join(file)).unwrap()
}

/// A running server, stopped (with its Postgres) when dropped.
pub struct Server {
    child: Child,
    pub url: String,
    pub repository: String,
    /// Logs, and the data dir unless another server's is shared.
    pub dir: tempfile::TempDir,
    data_dir: PathBuf,
    database_url: Option<String>,
    extra_env: Vec<(String, String)>,
    /// A program the server runs under (e.g. valgrind), with its arguments; empty for none.
    wrapper: Vec<String>,
}

impl Server {
    pub fn start(repository: &str) -> Server {
        Self::start_with(repository, &[])
    }

    /// A server with more `HEXYARD_*` settings.
    /// With `HEXYARD_TEST_BLOB_STORE=s3`, its blobs go to a new bucket of the tests' S3 server
    /// (unless the settings name a blob store).
    pub fn start_with(repository: &str, extra_env: &[(&str, &str)]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let data_dir = dir.path().join("data");
        let mut extra: Vec<(String, String)> = Vec::new();
        if std::env::var("HEXYARD_TEST_BLOB_STORE").is_ok_and(|v| v == "s3")
            && !extra_env.iter().any(|(k, _)| *k == "HEXYARD_BLOB_STORE")
        {
            extra.extend(s3::settings(&s3::bucket(), "blobs"));
        }
        extra.extend(extra_env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        Self::spawn(dir, data_dir, None, repository, extra, Vec::new())
    }

    /// A server on a data dir prepared beforehand (`dir`/data), e.g. by `hexyard restore`.
    pub fn start_in(dir: tempfile::TempDir, repository: &str, extra_env: &[(&str, &str)]) -> Server {
        let data_dir = dir.path().join("data");
        let extra = extra_env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Self::spawn(dir, data_dir, None, repository, extra, Vec::new())
    }

    /// A second server on this one's database, data dir (keys, secret, blobs) and repository,
    /// as a replica behind a load balancer would run.
    pub fn replica(&self) -> Server {
        self.replica_with(&[])
    }

    /// A replica with more settings.
    pub fn replica_with(&self, env: &[(&str, &str)]) -> Server {
        self.replica_under(&[], env)
    }

    /// A replica run by another program (e.g. `valgrind --tool=callgrind`), which is given the
    /// server's command line after `wrapper`.
    pub fn replica_under(&self, wrapper: &[&str], env: &[(&str, &str)]) -> Server {
        let mut extra = self.extra_env.clone();
        extra.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let url = format!("postgres:///hexyard?host={}&user=hexyard", self.data_dir.join("postgres-run").display());
        let wrapper = wrapper.iter().map(|w| w.to_string()).collect();
        Self::spawn(tempfile::tempdir().unwrap(), self.data_dir.clone(), Some(url), &self.repository, extra, wrapper)
    }

    fn spawn(
        dir: tempfile::TempDir,
        data_dir: PathBuf,
        database_url: Option<String>,
        repository: &str,
        extra_env: Vec<(String, String)>,
        wrapper: Vec<String>,
    ) -> Server {
        let mut command = match wrapper.split_first() {
            Some((program, args)) => {
                let mut command = Command::new(program);
                command.args(args).arg(env!("CARGO_BIN_EXE_hexyard"));
                command
            }
            None => Command::new(env!("CARGO_BIN_EXE_hexyard")),
        };
        command
            .arg("serve")
            .envs(env(&data_dir, repository))
            .envs(extra_env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("HEXYARD_LISTEN", "127.0.0.1:0");
        if let Some(url) = &database_url {
            command.env("HEXYARD_DATABASE_URL", url);
        }
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(dir.path().join("server.log")).unwrap())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        stdout.read_line(&mut first).unwrap();
        let Some(url) = first.trim().strip_prefix("hexyard listening on ") else {
            let log = std::fs::read_to_string(dir.path().join("server.log")).unwrap_or_default();
            panic!("the server did not start: {first:?}\n{log}");
        };
        let url = url.to_owned();
        // keep draining stdout so the server never blocks on it
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        Server { child, url, repository: repository.to_owned(), dir, data_dir, database_url, extra_env, wrapper }
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Runs a `hexyard` command against this server's data dir and database, with its settings.
    pub fn cli(&self, args: &[&str]) -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_hexyard"));
        command
            .args(args)
            .envs(env(&self.data_dir, &self.repository))
            .envs(self.extra_env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        if let Some(url) = &self.database_url {
            command.env("HEXYARD_DATABASE_URL", url);
        }
        command.output().unwrap()
    }

    /// Runs `hexyard admin …` and returns its standard output.
    pub fn admin(&self, args: &[&str]) -> String {
        let out = self.cli(&[&["admin"], args].concat());
        assert!(out.status.success(), "admin {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }

    /// Runs SQL on the embedded cluster, as an operator (or an attacker with database access) would.
    pub fn psql(&self, sql: &str) -> String {
        let out = Command::new("psql")
            .arg("-h")
            .arg(self.data_dir.join("postgres-run"))
            .args(["-U", "hexyard", "-d", "hexyard", "-tAc", sql])
            .output()
            .expect("psql");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }

    /// A confirmed user and an API key (`api` unless permissions are given).
    pub fn user_with_key(&self, name: &str, permissions: &[&str]) -> String {
        let email = format!("{name}@example.com");
        self.admin(&["user", "create", name, "--email", &email, "--confirmed"]);
        let mut args = vec!["key", "create", name, "main"];
        for p in permissions {
            args.extend(["--permission", p]);
        }
        self.admin(&args)
    }

    pub fn public_key(&self) -> String {
        String::from_utf8(get(&format!("{}/repo/public_key", self.url), &[]).body).unwrap()
    }

    pub fn api(&self, path: &str) -> String {
        format!("{}/api{path}", self.url)
    }

    pub fn publish(&self, key: &str, tarball: &[u8], replace: bool) -> Response {
        let url = self.api(&format!("/publish?replace={replace}"));
        request("POST", &url, &[("authorization", key), ("accept", "application/json")], Some(tarball))
    }

    /// Uploads `docs` for a release of the public repository.
    pub fn upload_docs(&self, key: &str, name: &str, version: &str, docs: &[u8]) -> Response {
        let url = self.api(&format!("/packages/{name}/releases/{version}/docs"));
        request("POST", &url, &[("authorization", key), ("content-type", "application/octet-stream")], Some(docs))
    }

    /// A publish into an organization's repository.
    pub fn publish_to(&self, repository: &str, key: &str, tarball: &[u8]) -> Response {
        let url = self.api(&format!("/repos/{repository}/publish"));
        request("POST", &url, &[("authorization", key), ("accept", "application/json")], Some(tarball))
    }

    /// The `downloads` of a package or release resource of the API (`/packages/NAME[/releases/V]`)
    /// once counts have been added to the database: polled until `expected`, at most 20 s.
    pub fn downloads_reach(&self, path: &str, field: &str, expected: i64) -> serde_json::Value {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let body = get(&self.api(path), &[]).json();
            let downloads = body["downloads"].clone();
            let seen = if field.is_empty() { downloads.as_i64() } else { downloads[field].as_i64() };
            if seen == Some(expected) || std::time::Instant::now() > deadline {
                return downloads;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }
}

fn env(data_dir: &Path, repository: &str) -> Vec<(&'static str, String)> {
    vec![
        ("HEXYARD_DATA_DIR", data_dir.display().to_string()),
        ("HEXYARD_REPOSITORY", repository.to_owned()),
        ("HEXYARD_LOG", "warn".to_owned()),
    ]
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Server {
    /// The server process's id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the process to end by itself (after a signal the test sent).
    pub fn wait_for_exit(mut self, within: Duration) -> Server {
        let deadline = Instant::now() + within;
        while !matches!(self.child.try_wait(), Ok(Some(_))) {
            assert!(Instant::now() < deadline, "the server did not exit within {within:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
        self
    }

    /// Stops the server gracefully (SIGTERM) and starts it again on the same data.
    pub fn restart(self) -> Server {
        self.restart_with(&[])
    }

    /// The same, with settings changed.
    pub fn restart_with(mut self, env: &[(&str, &str)]) -> Server {
        self.stop();
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap());
        let mut extra = self.extra_env.clone();
        extra.retain(|(k, _)| !env.iter().any(|(n, _)| n == k));
        extra.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let wrapper = self.wrapper.clone();
        Self::spawn(dir, self.data_dir.clone(), self.database_url.clone(), &self.repository, extra, wrapper)
    }

    fn stop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        // SIGTERM: the server stops gracefully and stops its Postgres
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {} {}", self.status, String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

fn agent() -> &'static ureq::Agent {
    static AGENT: OnceLock<ureq::Agent> = OnceLock::new();
    AGENT.get_or_init(|| {
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .user_agent(ureq::config::AutoHeaderValue::None)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into()
    })
}

/// One request; a User-Agent is added unless the headers name one (an empty one sends none).
pub fn request(method: &str, url: &str, headers: &[(&str, &str)], body: Option<&[u8]>) -> Response {
    let mut builder = http::Request::builder().method(method).uri(url);
    if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("user-agent")) {
        builder = builder.header("user-agent", "hexyard-tests");
    }
    for (n, v) in headers.iter().filter(|(_, v)| !v.is_empty()) {
        builder = builder.header(*n, *v);
    }
    run(builder.body(body.map(<[u8]>::to_vec).unwrap_or_default()).unwrap())
}

pub fn get(url: &str, headers: &[(&str, &str)]) -> Response {
    request("GET", url, headers, None)
}

/// Sends a request built by the `hexpm` crate.
pub fn run(req: http::Request<Vec<u8>>) -> Response {
    let resp = agent().run(req).unwrap();
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap_or_default().to_owned()))
        .collect();
    let mut body = Vec::new();
    resp.into_body().into_reader().read_to_end(&mut body).unwrap();
    Response { status, headers, body }
}

/// The answer as the `hexpm` crate takes it.
pub fn to_http(resp: Response) -> http::Response<Vec<u8>> {
    let mut builder = http::Response::builder().status(resp.status);
    for (n, v) in &resp.headers {
        builder = builder.header(n, v);
    }
    builder.body(resp.body).unwrap()
}

/// A package tarball built in code.
pub fn tarball(name: &str, version: &str, deps: &[(&str, &str, Option<&str>)]) -> Vec<u8> {
    tarball_with(name, version, deps, |_| {})
}

/// A package tarball built in code, its metadata changed by `edit`.
pub fn tarball_with(
    name: &str,
    version: &str,
    deps: &[(&str, &str, Option<&str>)],
    edit: impl FnOnce(&mut Metadata),
) -> Vec<u8> {
    let requirements = deps
        .iter()
        .map(|(dep, req, repo)| Dependency {
            name: PackageName::parse_existing(dep).unwrap(),
            app: dep.to_string(),
            requirement: Requirement::parse(req).unwrap(),
            optional: false,
            repository: repo.map(|r| RepositoryName::parse(r).unwrap()),
        })
        .collect();
    let mut metadata = Metadata {
        name: PackageName::parse_existing(name).unwrap(),
        version: Version::parse(version).unwrap(),
        app: name.to_owned(),
        description: Some(format!("The {name} package")),
        licenses: vec!["MIT".into()],
        links: [("GitHub".to_owned(), format!("https://example.com/{name}"))].into(),
        requirements,
        build_tools: vec!["rebar3".into()],
        elixir: None,
        files: vec![format!("src/{name}.erl"), format!("src/{name}.app.src")],
        maintainers: vec![],
        extra: serde_json::Value::Null,
    };
    edit(&mut metadata);
    // a rebar3 project, so rebar3 can fetch and build it
    let source = format!("-module({name}).\n-export([v/0]).\nv() -> \"{version}\".\n");
    let deps: Vec<&str> = deps.iter().map(|(d, _, _)| *d).collect();
    let app = format!(
        "{{application, {name}, [{{vsn, \"{version}\"}}, {{applications, [kernel, stdlib{}]}}]}}.\n",
        deps.iter().map(|d| format!(", {d}")).collect::<String>()
    );
    hexyard_tarball::build(
        &metadata,
        &[(format!("src/{name}.erl"), source.into_bytes()), (format!("src/{name}.app.src"), app.into_bytes())],
    )
}

/// The real clients: mix with Hex 2.5.1, rebar3, Erlang with rebar3's hex_core.
#[path = "clients_support.rs"]
mod clients_support;
pub use clients_support::*;

/// A real S3-compatible server (moto) for the blob store.
#[path = "s3_store.rs"]
pub mod s3;

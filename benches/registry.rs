//! The registry benchmark (run by `scripts/bench`, not a test):
//!
//! 1. publish latency, p50 and p99 over sequential publishes of new packages, with 100 and
//!    with 10,000 packages already in the registry;
//! 2. reads: wrk against `/repo/packages/NAME` and a tarball, and against nginx serving the
//!    same bytes from a directory, in the same run; the ratio is hexyard over nginx (also
//!    alone, with 100 packages: `--reads`);
//! 3. search latency (p50, p95 over sequential `GET /api/packages?search=`) with all the
//!    packages loaded: a single word, several words, `depends:`;
//! 4. what counting downloads costs: wrk against a tarball on the server (counting) and on a
//!    second server over the same data with `HEXYARD_COUNT_DOWNLOADS=false`, in the same run.
//!
//! 5. what `/metrics` costs reads: wrk against a resource and a tarball on replicas over the
//!    same data (metrics on, off, off again for the noise), in the same run: the instructions
//!    per request of three replicas under callgrind, then the throughput and CPU per request of
//!    six fresh pairs (on, off) pinned to one core with wrk on the other (also alone, with 100
//!    packages: `--metrics`).
//!
//! 6. page render time (p50, p95 over sequential requests, measured by the client on this
//!    machine, so an upper bound of the server's time) of the web UI's pages with all the
//!    packages loaded: home, list, search, sorts, a package, a release, a user (also alone:
//!    `--pages`).
//!
//! 7. with `--mirror` (alone): the hex.pm mirror against a stand-in upstream on this machine —
//!    a cold `mix deps.get` of a 30-package tree through `/mirror` and straight from the
//!    upstream, 100 concurrent requests for one uncached tarball (upstream requests made), and
//!    cached resources against nginx serving the same bytes.
//!
//! Everything runs on this machine: the server, Postgres, nginx and wrk share its cores.

#[path = "registry/metrics.rs"]
mod metrics;
#[path = "registry/pages.rs"]
mod pages;
#[path = "../tests/e2e/support.rs"]
mod support;
#[path = "registry/tools.rs"]
mod tools;
#[path = "../tests/e2e/upstream.rs"]
mod upstream;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use metrics::compare_metrics;
use pages::measure_pages;
use support::{Server, get, tarball_with};
use tools::{Nginx, free_port, wrk};

const MEASURED: usize = 200;

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    if std::env::args().any(|a| a == "--mirror") {
        let lines = bench_mirror();
        println!("\n== hexyard benchmark: mirror ==");
        for line in lines {
            println!("{line}");
        }
        return;
    }
    let large = if quick { 1_000 } else { 10_000 };
    let mut report = Vec::new();

    // one user publishes thousands of packages here: no rate limit
    let unlimited = [("HEXYARD_RATE_LIMIT_ANONYMOUS", "0"), ("HEXYARD_RATE_LIMIT_AUTHENTICATED", "0")];
    let server = Arc::new(Server::start_with("bench", &unlimited));
    let key = server.user_with_key("bench", &[]);
    // one part alone: its flag, the packages it preloads, and the part
    type Part = fn(&Server, usize) -> Vec<String>;
    let parts: [(&str, usize, Part); 4] = [
        ("search", large, measure_searches),
        ("pages", large, measure_pages),
        ("reads", 100, |server, _| compare_reads(server)),
        ("metrics", 100, |server, _| compare_metrics(server)),
    ];
    for (name, packages, part) in parts {
        if std::env::args().any(|a| a == format!("--{name}")) {
            preload(&server, &key, 0, packages);
            println!("\n== hexyard benchmark: {name} ==");
            for line in part(&server, packages) {
                println!("{line}");
            }
            return;
        }
    }
    preload(&server, &key, 0, 100);
    let small = measure_publishes(&server, &key, "small");
    report.push(format!("publish latency with {:>6} packages: p50 {:>6.1} ms  p99 {:>6.1} ms", 100, small.0, small.1));
    preload(&server, &key, 100 + MEASURED, large - 100 - MEASURED);
    let big = measure_publishes(&server, &key, "big");
    report.push(format!("publish latency with {large:>6} packages: p50 {:>6.1} ms  p99 {:>6.1} ms", big.0, big.1));
    report.push(format!("publish p50 ratio {large} / 100 packages: {:.2}", big.0 / small.0));

    let reads = compare_reads(&server);
    report.extend(reads);
    report.extend(measure_searches(&server, large));
    report.extend(measure_pages(&server, large));
    report.extend(compare_counting(&server));
    report.extend(compare_metrics(&server));
    println!("\n== hexyard benchmark ==");
    for line in report {
        println!("{line}");
    }
}

/// Publishes `count` packages `pkg{start}`… with 8 concurrent clients.
fn preload(server: &Arc<Server>, key: &str, start: usize, count: usize) {
    let next = Arc::new(AtomicUsize::new(0));
    let began = Instant::now();
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let (server, key, next) = (server.clone(), key.to_owned(), next.clone());
            std::thread::spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= count {
                        break;
                    }
                    let resp = server.publish(&key, &package(start + i), false);
                    assert_eq!(resp.status, 201, "{}", resp.text());
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    eprintln!("preloaded {count} packages in {:.1} s", began.elapsed().as_secs_f64());
}

/// Sequential publishes of new packages; returns (p50, p99) in milliseconds.
fn measure_publishes(server: &Server, key: &str, label: &str) -> (f64, f64) {
    let bodies: Vec<Vec<u8>> =
        (0..MEASURED).map(|i| tarball_with(&format!("measured_{label}_{i}"), "1.0.0", &[], |_| {})).collect();
    let mut times: Vec<f64> = bodies
        .iter()
        .map(|body| {
            let began = Instant::now();
            let resp = server.publish(key, body, false);
            assert_eq!(resp.status, 201, "{}", resp.text());
            began.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);
    (times[times.len() / 2], times[times.len() * 99 / 100])
}

/// Words of package descriptions: each package's description has three, so a word is in about
/// 3% of the packages.
const WORDS: &[&str] = &[
    "json",
    "http",
    "parser",
    "server",
    "client",
    "database",
    "queue",
    "cache",
    "crypto",
    "test",
    "web",
    "socket",
    "router",
    "template",
    "logger",
    "metrics",
    "tracing",
    "config",
    "graphql",
    "grpc",
    "xml",
    "yaml",
    "csv",
    "date",
    "time",
    "uuid",
    "image",
    "pdf",
    "email",
    "smtp",
    "auth",
    "oauth",
    "jwt",
    "password",
    "hash",
    "redis",
    "postgres",
    "mysql",
    "sqlite",
    "kafka",
    "rabbitmq",
    "nats",
    "mqtt",
    "websocket",
    "phoenix",
    "plug",
    "ecto",
    "liveview",
    "html",
    "markdown",
    "i18n",
    "gettext",
    "money",
    "decimal",
    "math",
    "stats",
    "random",
    "retry",
    "circuit",
    "breaker",
    "pool",
    "worker",
    "job",
    "scheduler",
    "cron",
    "telemetry",
    "prometheus",
    "aws",
    "s3",
    "gcp",
    "azure",
    "docker",
    "kubernetes",
    "cluster",
    "distributed",
    "consensus",
    "raft",
    "crdt",
    "search",
    "storage",
    "file",
    "upload",
    "stream",
    "compression",
    "gzip",
    "zip",
    "tar",
    "binary",
    "protocol",
    "codec",
    "encoder",
    "decoder",
    "validation",
    "schema",
    "form",
    "admin",
    "dashboard",
    "cli",
    "terminal",
];

/// Package `pkg{i}`: a description of three words; from the 100th, a dependency on one of the first 100.
fn package(i: usize) -> Vec<u8> {
    let n = WORDS.len();
    let description = format!("A {} {} library for {}", WORDS[i % n], WORDS[(i / n) % n], WORDS[(i * 7 + 3) % n]);
    let dep = format!("pkg{}", i % 100);
    let deps: Vec<(&str, &str, Option<&str>)> = if i >= 100 { vec![(dep.as_str(), "~> 1.0", None)] } else { vec![] };
    tarball_with(&format!("pkg{i}"), "1.0.0", &deps, |m| m.description = Some(description))
}

/// Search latency over sequential requests, each query alone.
fn measure_searches(server: &Server, packages: usize) -> Vec<String> {
    let mut lines = Vec::new();
    for (label, query) in
        [("single word", "json"), ("several words", "json parser library"), ("depends:", "depends:pkg7")]
    {
        let url = server.api(&format!("/packages?search={}", query.replace(' ', "+").replace(':', "%3A")));
        let found = get(&url, &[]);
        assert_eq!(found.status, 200, "{}", found.text());
        let count = found.json().as_array().map_or(0, Vec::len);
        let (p50, p95) = latency(&url);
        lines.push(format!(
            "search {label:<14} ({query:?}, {count} of {packages} on the page): p50 {p50:>5.1} ms  p95 {p95:>5.1} ms"
        ));
    }
    lines
}

/// p50 and p95 in milliseconds of sequential GETs of a URL, each answered 200.
fn latency(url: &str) -> (f64, f64) {
    let mut times: Vec<f64> = (0..MEASURED)
        .map(|_| {
            let began = Instant::now();
            let resp = get(url, &[]);
            assert_eq!(resp.status, 200);
            began.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);
    (times[times.len() / 2], times[times.len() * 95 / 100])
}

/// Tarball reads with and without counting downloads, on two servers over the same data.
fn compare_counting(server: &Server) -> Vec<String> {
    let uncounted = server.replica_with(&[("HEXYARD_COUNT_DOWNLOADS", "false")]);
    let path = "/repo/tarballs/pkg0-1.0.0.tar";
    let without = wrk(&format!("{}{path}", uncounted.url));
    let with = wrk(&format!("{}{path}", server.url));
    let again = wrk(&format!("{}{path}", uncounted.url));
    let baseline = (without + again) / 2.0;
    vec![format!(
        "tarball counted      {with:>9.0} req/s   not counted {baseline:>9.0} req/s (mean of before and after)   cost {:.1} %",
        (1.0 - with / baseline) * 100.0
    )]
}

/// What metrics (requests by route and status, latency histograms, cache and download
/// meters) cost reads: three fresh replicas over the same data (metrics on, off, and off again:
/// the difference between the two that are alike is the noise), pinned to one core with wrk on
/// the other, warmed up, then wrk against each in turn, three rounds (the order turned each
/// round). Two measures: throughput (as time per request), and the server's CPU time per
/// request (from /proc). (Instructions per request would be steadier, but this machine's
/// virtual CPUs have no counters for `perf stat`.)
fn compare_reads(server: &Server) -> Vec<String> {
    against_nginx(server, "/repo", [("/repo/packages/pkg0", "/packages/pkg0"), ("tarball", "/tarballs/pkg0-1.0.0.tar")])
}

/// wrk against `server` under `prefix` and against nginx serving the same bytes.
fn against_nginx(server: &Server, prefix: &str, paths: [(&str, &str); 2]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    for (_, path) in paths {
        let file = root.join(path.trim_start_matches('/'));
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, get(&format!("{}{prefix}{path}", server.url), &[]).body).unwrap();
    }
    let nginx_port = free_port();
    let _nginx = Nginx::start(dir.path(), &root, nginx_port);

    let mut lines = Vec::new();
    for (what, path) in paths {
        let ours_url = format!("{}{prefix}{path}", server.url);
        let nginx_url = format!("http://127.0.0.1:{nginx_port}{path}");
        assert_eq!(get(&nginx_url, &[]).body, get(&ours_url, &[]).body, "the same bytes");
        // alternated, twice each: the machine's drift falls on both alike
        let (mut theirs, mut ours) = (0.0, 0.0);
        for _ in 0..2 {
            theirs += wrk(&nginx_url) / 2.0;
            ours += wrk(&ours_url) / 2.0;
        }
        lines.push(format!(
            "{what:<20} hexyard {ours:>9.0} req/s   nginx {theirs:>9.0} req/s   ratio {:.2} (means of 2, alternated)",
            ours / theirs
        ));
    }
    lines
}

/// The mirror: cold `mix deps.get` through it and straight from the upstream, one upstream
/// request for 100 concurrent misses, cached reads against nginx.
fn bench_mirror() -> Vec<String> {
    // a 30-package tree: p0 depends on p1 and p2, p1 on p3 and p4, …
    let mut registry = upstream::Registry::new("hexpm");
    for i in 0..30 {
        let deps: Vec<(String, &str)> =
            [2 * i + 1, 2 * i + 2].into_iter().filter(|d| *d < 30).map(|d| (format!("p{d}"), "~> 1.0")).collect();
        let deps: Vec<(&str, &str)> = deps.iter().map(|(d, r)| (d.as_str(), *r)).collect();
        registry.release(&format!("p{i}"), "1.0.0", &deps);
    }
    let files = registry.files();
    let upstream = upstream::Upstream::serve(files.clone());
    let pem = registry.public_key_pem();
    let env = [("HEXYARD_MIRROR_URL", upstream.url.as_str()), ("HEXYARD_MIRROR_PUBLIC_KEY", pem.as_str())];
    let mix = BenchMix::new(&pem);
    let mut lines = Vec::new();

    let (mut straight, mut through) = (Vec::new(), Vec::new());
    for round in 0..3 {
        straight.push(mix.deps_get(&format!("straight{round}"), &upstream.url));
        // a new server each round: its cache is cold
        let server = Server::start_with("bench", &env);
        through.push(mix.deps_get(&format!("mirror{round}"), &format!("{}/mirror", server.url)));
        assert_eq!(server_rows(&server), 30, "the mirror cached the whole tree");
    }
    straight.sort_by(f64::total_cmp);
    through.sort_by(f64::total_cmp);
    lines.push(format!(
        "cold mix deps.get, 30 packages: through the mirror {:.2} s   straight from the upstream {:.2} s   ratio {:.2} (medians of 3)",
        through[1],
        straight[1],
        through[1] / straight[1]
    ));

    let server = Server::start_with("bench", &env);
    upstream.fault("tarballs/p7-1.0.0.tar", Some(upstream::Fault::Slow(Duration::from_millis(200))));
    let before = upstream.hits("tarballs/p7-1.0.0.tar");
    let url = format!("{}/mirror/tarballs/p7-1.0.0.tar", server.url);
    let ok = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..100).map(|_| scope.spawn(|| get(&url, &[]).status == 200)).collect();
        handles.into_iter().map(|h| h.join().unwrap()).filter(|ok| *ok).count()
    });
    lines.push(format!(
        "100 concurrent requests for one uncached tarball: {ok} answered 200, {} upstream request(s)",
        upstream.hits("tarballs/p7-1.0.0.tar") - before
    ));
    lines.extend(against_nginx(
        &server,
        "/mirror",
        [("/mirror/packages/p0", "/packages/p0"), ("mirror tarball", "/tarballs/p0-1.0.0.tar")],
    ));
    lines
}

fn server_rows(server: &Server) -> usize {
    server.psql("SELECT count(*) FROM mirror_tarballs").trim().parse().unwrap()
}

/// mix with the Hex archive, trusting the stand-in upstream's key for `hexpm`.
struct BenchMix(support::Mix);

impl BenchMix {
    fn new(pem: &str) -> BenchMix {
        let mix = support::Mix::new();
        let key = mix.home.path().join("upstream.pem");
        std::fs::write(&key, pem).unwrap();
        let out = mix.run(mix.home.path(), &["hex.repo", "set", "hexpm", "--public-key", key.to_str().unwrap()], &[]);
        assert!(out.status.success(), "{}", support::text(&out));
        BenchMix(mix)
    }

    /// Seconds a cold `mix deps.get` of p0 (and so all 30) takes from `repo_url`.
    fn deps_get(&self, project: &str, repo_url: &str) -> f64 {
        let home = self.0.home.path();
        let _ = std::fs::remove_dir_all(home.join("hex/packages"));
        let _ = std::fs::remove_file(home.join("hex/cache.ets"));
        let dir = self.0.project(
            project,
            "defmodule App.MixProject do\n  use Mix.Project\n  def project, do: [app: :app, version: \"0.1.0\", deps: [{:p0, \"~> 1.0\"}]]\nend\n",
        );
        let started = Instant::now();
        let out = self.0.run(&dir, &["deps.get"], &[("HEX_MIRROR", repo_url)]);
        let took = started.elapsed().as_secs_f64();
        assert!(out.status.success(), "{}", support::text(&out));
        assert!(dir.join("deps/p29/src/p29.erl").exists(), "the whole tree was fetched");
        took
    }
}

//! The registry benchmark (run by `scripts/bench`, not a test):
//!
//! 1. publish latency, p50 and p99 over sequential publishes of new packages, with 100 and
//!    with 10,000 packages already in the registry;
//! 2. reads: wrk against `/repo/packages/NAME` and a tarball, and against nginx serving the
//!    same bytes from a directory, in the same run; the ratio is hexyard over nginx.
//!
//! Everything runs on this machine: the server, Postgres, nginx and wrk share its cores.

#[path = "../tests/e2e/support.rs"]
mod support;

use std::process::{Child, Command};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use support::{Server, get, tarball};

const MEASURED: usize = 200;

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let large = if quick { 1_000 } else { 10_000 };
    let mut report = Vec::new();

    // one user publishes thousands of packages here: no rate limit
    let unlimited = [("HEXYARD_RATE_LIMIT_ANONYMOUS", "0"), ("HEXYARD_RATE_LIMIT_AUTHENTICATED", "0")];
    let server = Arc::new(Server::start_with("bench", &unlimited));
    let key = server.user_with_key("bench", &[]);
    preload(&server, &key, 0, 100);
    let small = measure_publishes(&server, &key, "small");
    report.push(format!("publish latency with {:>6} packages: p50 {:>6.1} ms  p99 {:>6.1} ms", 100, small.0, small.1));
    preload(&server, &key, 100 + MEASURED, large - 100 - MEASURED);
    let big = measure_publishes(&server, &key, "big");
    report.push(format!("publish latency with {large:>6} packages: p50 {:>6.1} ms  p99 {:>6.1} ms", big.0, big.1));
    report.push(format!("publish p50 ratio {large} / 100 packages: {:.2}", big.0 / small.0));

    let reads = compare_reads(&server);
    report.extend(reads);
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
                    let resp = server.publish(&key, &tarball(&format!("pkg{}", start + i), "1.0.0", &[]), false);
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
    let bodies: Vec<Vec<u8>> = (0..MEASURED).map(|i| tarball(&format!("measured_{label}_{i}"), "1.0.0", &[])).collect();
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

fn compare_reads(server: &Server) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir_all(root.join("packages")).unwrap();
    std::fs::create_dir_all(root.join("tarballs")).unwrap();
    let package = get(&format!("{}/repo/packages/pkg0", server.url), &[]).body;
    let tar = get(&format!("{}/repo/tarballs/pkg0-1.0.0.tar", server.url), &[]).body;
    std::fs::write(root.join("packages/pkg0"), &package).unwrap();
    std::fs::write(root.join("tarballs/pkg0-1.0.0.tar"), &tar).unwrap();
    let nginx_port = free_port();
    let _nginx = Nginx::start(dir.path(), &root, nginx_port);

    let mut lines = Vec::new();
    for (what, path) in [("/repo/packages/pkg0", "/packages/pkg0"), ("tarball", "/tarballs/pkg0-1.0.0.tar")] {
        let ours_url = format!("{}/repo{path}", server.url);
        let nginx_url = format!("http://127.0.0.1:{nginx_port}{path}");
        assert_eq!(get(&nginx_url, &[]).body, get(&ours_url, &[]).body, "the same bytes");
        let theirs = wrk(&nginx_url);
        let ours = wrk(&ours_url);
        lines.push(format!(
            "{what:<20} hexyard {ours:>9.0} req/s   nginx {theirs:>9.0} req/s   ratio {:.2}",
            ours / theirs
        ));
    }
    lines
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Requests per second that wrk measures over 10 seconds with 64 connections.
fn wrk(url: &str) -> f64 {
    let out = Command::new("wrk").args(["-t2", "-c64", "-d10s", url]).output().expect("wrk (apt-get install wrk)");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("Non-2xx"), "{text}");
    text.lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no rate in wrk output:\n{text}"))
}

struct Nginx(Child);

impl Nginx {
    fn start(dir: &std::path::Path, root: &std::path::Path, port: u16) -> Nginx {
        let conf = dir.join("nginx.conf");
        std::fs::write(
            &conf,
            format!(
                "worker_processes auto;\ndaemon off;\npid {dir}/nginx.pid;\nerror_log {dir}/error.log;\n\
                 events {{ worker_connections 4096; }}\n\
                 http {{\n  access_log off;\n  sendfile on;\n  tcp_nopush on;\n  keepalive_requests 1000000;\n\
                 client_body_temp_path {dir};\n  proxy_temp_path {dir};\n  fastcgi_temp_path {dir};\n\
                 uwsgi_temp_path {dir};\n  scgi_temp_path {dir};\n\
                 server {{\n    listen 127.0.0.1:{port};\n    root {root};\n    default_type application/octet-stream;\n  }}\n}}\n",
                dir = dir.display(),
                root = root.display(),
            ),
        )
        .unwrap();
        let child = Command::new("nginx")
            .arg("-c")
            .arg(&conf)
            .arg("-e")
            .arg(dir.join("error.log"))
            .spawn()
            .expect("nginx (apt-get install nginx)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "nginx did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Nginx(child)
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // TERM, not KILL: the master stops its workers on the way out
        let _ = Command::new("kill").arg("-TERM").arg(self.0.id().to_string()).status();
        let _ = self.0.wait();
    }
}

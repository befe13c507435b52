//! The soak (run by `scripts/soak`, not a test): one server, readers and publishers against it
//! for a given time, then the errors and the throughput.
//!
//!   scripts/soak [--seconds N] [--readers N] [--publishers N]   (defaults: 300, 64, 8)
//!
//! Readers fetch what clients fetch — `/repo/names`, `/repo/packages/NAME`, tarballs, the
//! API's package — of packages published before the start and during the run; publishers
//! publish new packages and new versions. An error is any answer other than the expected
//! status, or no answer; every request must answer within 5 s.

#[path = "../tests/e2e/support.rs"]
mod support;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::{Server, get, tarball};

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[derive(Default)]
struct Tally {
    requests: AtomicUsize,
    errors: AtomicUsize,
    slow: AtomicUsize,
    samples: Mutex<Vec<String>>,
    latencies_ms: Mutex<Vec<f64>>,
}

impl Tally {
    fn record(&self, what: &str, expected: &[u16], status: u16, took: Duration) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        if took > Duration::from_secs(5) {
            self.slow.fetch_add(1, Ordering::Relaxed);
        }
        if !expected.contains(&status) {
            self.errors.fetch_add(1, Ordering::Relaxed);
            let mut samples = self.samples.lock().unwrap();
            if samples.len() < 20 {
                samples.push(format!("{what}: {status}"));
            }
        }
    }
}

fn main() {
    let seconds = arg("--seconds", 300);
    let readers = arg("--readers", 64) as usize;
    let publishers = arg("--publishers", 8) as usize;
    let unlimited = [("HEXYARD_RATE_LIMIT_ANONYMOUS", "0"), ("HEXYARD_RATE_LIMIT_AUTHENTICATED", "0")];
    let server = Arc::new(Server::start_with("soak", &unlimited));
    let key = server.user_with_key("soak", &[]);
    for i in 0..50 {
        assert_eq!(server.publish(&key, &tarball(&format!("seed{i}"), "1.0.0", &[]), false).status, 201);
    }
    let published = Arc::new(Mutex::new((0..50).map(|i| format!("seed{i}")).collect::<Vec<_>>()));
    let reads = Arc::new(Tally::default());
    let writes = Arc::new(Tally::default());
    let stop = Arc::new(AtomicBool::new(false));
    eprintln!("soak: {readers} readers, {publishers} publishers, {seconds} s against {}", server.url);
    let began = Instant::now();
    let mut threads = Vec::new();
    for r in 0..readers {
        let (server, published, reads, stop) = (server.clone(), published.clone(), reads.clone(), stop.clone());
        threads.push(std::thread::spawn(move || {
            let mut n = r;
            while !stop.load(Ordering::Relaxed) {
                let name = {
                    let names = published.lock().unwrap();
                    names[n % names.len()].clone()
                };
                n = n.wrapping_mul(31).wrapping_add(7);
                let paths = [
                    "/repo/names".to_owned(),
                    format!("/repo/packages/{name}"),
                    format!("/repo/tarballs/{name}-1.0.0.tar"),
                    format!("/api/packages/{name}"),
                ];
                let path = &paths[n % paths.len()];
                let started = Instant::now();
                let status =
                    std::panic::catch_unwind(|| get(&format!("{}{path}", server.url), &[]).status).unwrap_or(0);
                reads.record(path, &[200], status, started.elapsed());
            }
        }));
    }
    let published_count = Arc::new(AtomicUsize::new(0));
    for p in 0..publishers {
        let (server, published, writes, stop, key, count) =
            (server.clone(), published.clone(), writes.clone(), stop.clone(), key.clone(), published_count.clone());
        threads.push(std::thread::spawn(move || {
            for i in 0.. {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let name = format!("soak{p}_{i}");
                for version in ["1.0.0", "1.1.0"] {
                    let body = tarball(&name, version, &[]);
                    let started = Instant::now();
                    let status = std::panic::catch_unwind(|| server.publish(&key, &body, false).status).unwrap_or(0);
                    writes.record(&format!("publish {name} {version}"), &[201], status, started.elapsed());
                    writes.latencies_ms.lock().unwrap().push(started.elapsed().as_secs_f64() * 1000.0);
                    count.fetch_add(1, Ordering::Relaxed);
                }
                published.lock().unwrap().push(name);
            }
        }));
    }
    std::thread::sleep(Duration::from_secs(seconds));
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    let elapsed = began.elapsed().as_secs_f64();
    let mut latencies = writes.latencies_ms.lock().unwrap().clone();
    latencies.sort_by(f64::total_cmp);
    let pct = |p: usize| latencies.get(latencies.len() * p / 100).copied().unwrap_or(0.0);
    println!("\n== hexyard soak: {readers} readers, {publishers} publishers, {elapsed:.0} s ==");
    for (what, tally) in [("reads", &reads), ("publishes", &writes)] {
        let requests = tally.requests.load(Ordering::Relaxed);
        println!(
            "{what:<10} {requests:>9} requests  {:>8.0} /s  errors {}  over 5 s {}",
            requests as f64 / elapsed,
            tally.errors.load(Ordering::Relaxed),
            tally.slow.load(Ordering::Relaxed)
        );
        for sample in tally.samples.lock().unwrap().iter() {
            println!("  error: {sample}");
        }
    }
    println!("publish latency p50 {:.1} ms  p99 {:.1} ms", pct(50), pct(99));
    // (the index is rebuilt just after the last publishes' answers)
    std::thread::sleep(Duration::from_secs(2));
    let verify = server.cli(&["registry", "verify"]);
    println!("registry verify: {}", if verify.status.success() { "ok" } else { "FAILED" });
    if !verify.status.success() {
        println!("{}{}", String::from_utf8_lossy(&verify.stdout), String::from_utf8_lossy(&verify.stderr));
    }
    let errors = reads.errors.load(Ordering::Relaxed) + writes.errors.load(Ordering::Relaxed);
    if errors > 0 || !verify.status.success() {
        std::process::exit(1);
    }
}

//! Running it in production: `/metrics`, JSON logs, the configuration file, `/health` when the
//! database goes away, and a graceful stop.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::*;

/// The value of the series `name{labels}` (labels as exported, in order), if exported.
fn series(text: &str, name_and_labels: &str) -> Option<f64> {
    text.lines().find_map(|line| line.strip_prefix(name_and_labels)?.strip_prefix(' ')?.trim().parse().ok())
}

#[test]
fn metrics_count_requests_publishes_downloads_rebuilds_caches_and_the_pool() {
    let server = Server::start_with("hexyard", &[("HEXYARD_METRICS_TOKEN", "s3cret-token")]);
    let url = format!("{}/metrics", server.url);
    let refused = get(&url, &[]);
    assert_eq!(refused.status, 401);
    assert_eq!(get(&url, &[("authorization", "Bearer wrong-token")]).status, 401);

    let key = server.user_with_key("alice", &[]);
    assert_eq!(server.publish(&key, &tarball("metered", "1.0.0", &[]), false).status, 201);
    for _ in 0..2 {
        assert_eq!(get(&format!("{}/repo/tarballs/metered-1.0.0.tar", server.url), &[]).status, 200);
    }
    // repeated slashes are merged before routing: the same route
    assert_eq!(get(&format!("{}//repo//tarballs///metered-1.0.0.tar", server.url), &[]).status, 200);
    assert_eq!(get(&format!("{}/no/such/page", server.url), &[]).status, 404);
    // a path under a dispatching scope that names nothing is unmatched too, not a series of its own
    assert_eq!(get(&format!("{}/repo/no/such/thing", server.url), &[]).status, 404);
    assert_eq!(get(&format!("{}/repo/repos/acme/names", server.url), &[]).status, 404, "no such organization");
    let scraped = get(&url, &[("authorization", "Bearer s3cret-token")]);
    assert_eq!(scraped.status, 200);
    assert!(scraped.header("content-type").unwrap().starts_with("text/plain; version=0.0.4"));
    let text = scraped.text();
    let tarball_gets = r#"hexyard_http_requests_total{method="GET",route="/repo/tarballs/{file}",status="200"}"#;
    assert_eq!(series(&text, tarball_gets), Some(3.0), "{text}");
    let publishes = r#"hexyard_http_requests_total{method="POST",route="/api/publish",status="201"}"#;
    assert_eq!(series(&text, publishes), Some(1.0), "{text}");
    let org_names = r#"hexyard_http_requests_total{method="GET",route="/repo/repos/{org}/names",status="404"}"#;
    assert_eq!(series(&text, org_names), Some(1.0), "{text}");
    assert_eq!(
        series(&text, r#"hexyard_http_requests_total{method="GET",route="unmatched",status="404"}"#),
        Some(2.0),
        "{text}"
    );
    let latency =
        r#"hexyard_http_request_duration_seconds_count{method="GET",route="/repo/tarballs/{file}",status="200"}"#;
    assert_eq!(series(&text, latency), Some(3.0), "{text}");
    assert!(text.contains(r#"hexyard_http_request_duration_seconds_bucket{method="GET",route="/repo/tarballs/{file}",status="200",le="0.005"}"#), "a histogram, not a summary");
    assert_eq!(series(&text, r#"hexyard_publishes_total{kind="new"}"#), Some(1.0), "{text}");
    assert_eq!(series(&text, "hexyard_downloads_total"), Some(3.0), "{text}");
    assert!(series(&text, r#"hexyard_registry_rebuild_seconds_count{part="package"}"#).unwrap_or(0.0) >= 1.0, "{text}");
    assert!(series(&text, r#"hexyard_cache_hits_total{cache="tarballs"}"#).unwrap_or(0.0) >= 2.0, "{text}");
    assert!(series(&text, r#"hexyard_cache_bytes{cache="tarballs"}"#).unwrap_or(0.0) > 0.0, "{text}");
    assert!(series(&text, "hexyard_db_pool_connections").unwrap_or(0.0) >= 1.0, "{text}");
    assert_eq!(series(&text, "hexyard_db_pool_max"), Some(32.0), "{text}");
    assert!(text.contains("# HELP hexyard_publishes_total"), "described");
    // the path itself (a series per package) never becomes a label
    assert!(!text.contains("metered-1.0.0"), "{text}");

    let off = server.restart_with(&[("HEXYARD_METRICS", "off")]);
    assert_eq!(get(&format!("{}/metrics", off.url), &[]).status, 404);
}

#[test]
fn json_logs_carry_the_request_and_its_id() {
    let server = Server::start_with("hexyard", &[("HEXYARD_LOG_FORMAT", "json"), ("HEXYARD_LOG", "info")]);
    let answer = get(&format!("{}/repo/names", server.url), &[]);
    let id = answer.header("x-request-id").unwrap().to_owned();
    let deadline = Instant::now() + Duration::from_secs(5);
    let line = loop {
        let log = server.log();
        if let Some(line) = log.lines().find(|l| l.contains(&id) && l.contains("/repo/names")) {
            break line.to_owned();
        }
        assert!(Instant::now() < deadline, "no access line for {id}:\n{log}");
        std::thread::sleep(Duration::from_millis(50));
    };
    let entry: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(entry["fields"]["path"], "/repo/names", "{entry}");
    assert_eq!(entry["fields"]["status"], 200, "{entry}");
    assert_eq!(entry["span"]["id"], id.as_str(), "{entry}");
    assert_eq!(entry["target"], "hexyard::access", "{entry}");
    // every line of the log is JSON
    for line in server.log().lines().filter(|l| !l.trim().is_empty()) {
        serde_json::from_str::<serde_json::Value>(line).unwrap_or_else(|e| panic!("{e}: {line}"));
    }
}

#[test]
fn settings_come_from_the_file_under_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hexyard.toml");
    std::fs::write(&file, "metrics_token = \"from-the-file\"\nmirror = \"off\"\nsecret = \"file-secret-value\"\n")
        .unwrap();
    let file = file.to_str().unwrap();
    let server = Server::start_with("hexyard", &[("HEXYARD_CONFIG", file), ("HEXYARD_MIRROR", "on")]);
    let metrics = format!("{}/metrics", server.url);
    assert_eq!(get(&metrics, &[]).status, 401, "the file's token");
    assert_eq!(get(&metrics, &[("authorization", "Bearer from-the-file")]).status, 200);
    // the environment's HEXYARD_MIRROR=on won over the file's off
    assert_ne!(get(&format!("{}/mirror/public_key", server.url), &[]).status, 404);

    let check = server.cli(&["config", "check"]);
    let out = String::from_utf8_lossy(&check.stdout).into_owned();
    assert!(check.status.success(), "{}", text(&check));
    assert!(out.contains(&format!("configuration file: {file}")), "{out}");
    assert!(out.contains("HEXYARD_METRICS_TOKEN = ******** (file)"), "{out}");
    assert!(out.contains("HEXYARD_MIRROR = on (environment)"), "{out}");
    assert!(!out.contains("from-the-file") && !out.contains("file-secret-value"), "secrets masked: {out}");

    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "listen = \"127.0.0.1:0\"\nlisen_port = 4000\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_hexyard"))
        .args(["--config", bad.to_str().unwrap(), "config", "check"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(text(&out).contains("unknown key `lisen_port`"), "{}", text(&out));
    let out = Command::new(env!("CARGO_BIN_EXE_hexyard"))
        .args(["config", "check"])
        .env("HEXYARD_SHUTDOWN_SECONDS", "0")
        .output()
        .unwrap();
    assert!(!out.status.success() && text(&out).contains("HEXYARD_SHUTDOWN_SECONDS"), "{}", text(&out));
}

#[test]
fn health_says_503_while_the_database_is_gone() {
    // a replica on the first server's cluster: an external database to it, not supervised
    let owner = Server::start("hexyard");
    let server = owner.replica();
    let health = format!("{}/health", server.url);
    assert_eq!(get(&health, &[]).status, 200);
    let address = server.url.trim_start_matches("http://").to_owned();
    let cli =
        || Command::new(env!("CARGO_BIN_EXE_hexyard")).arg("health").env("HEXYARD_LISTEN", &address).output().unwrap();
    let ok = cli();
    assert!(ok.status.success(), "{}", text(&ok));
    // the database goes away (the first server stops, and its cluster with it)
    assert!(Command::new("kill").args(["-TERM", &owner.pid().to_string()]).status().unwrap().success());
    let _owner = owner.wait_for_exit(Duration::from_secs(20));
    let started = Instant::now();
    let answer = get(&health, &[]);
    assert_eq!((answer.status, answer.text().trim()), (503, "the database is unreachable"));
    assert!(started.elapsed() < Duration::from_secs(3), "answered in {:?}", started.elapsed());
    let down = cli();
    assert!(!down.status.success() && text(&down).contains("503"), "{}", text(&down));
    // reads of the signed registry are served from memory meanwhile
    assert_eq!(get(&format!("{}/repo/names", server.url), &[]).status, 200);
}

#[test]
fn a_stop_finishes_the_publish_under_way_and_does_not_wait_for_idle_connections() {
    let server = Server::start("hexyard");
    let key = server.user_with_key("alice", &[]);
    let address = server.url.trim_start_matches("http://").to_owned();
    // an idle keep-alive connection
    let mut idle = TcpStream::connect(&address).unwrap();
    write!(idle, "GET /health HTTP/1.1\r\nhost: x\r\n\r\n").unwrap();
    let mut first = [0u8; 12];
    idle.read_exact(&mut first).unwrap();
    // a publish whose body is half sent when the stop comes
    let body = tarball("inflight", "1.0.0", &[]);
    let mut publish = TcpStream::connect(&address).unwrap();
    write!(
        publish,
        "POST /api/publish HTTP/1.1\r\nhost: x\r\nauthorization: {key}\r\nuser-agent: test\r\naccept: application/json\r\n\
         content-type: application/octet-stream\r\ncontent-length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    let half = body.len() / 2;
    publish.write_all(&body[..half]).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let pid = server.pid();
    let stopping = Instant::now();
    assert!(Command::new("kill").args(["-TERM", &pid.to_string()]).status().unwrap().success());
    std::thread::sleep(Duration::from_millis(500));
    publish.write_all(&body[half..]).unwrap();
    publish.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut answer = String::new();
    let _ = publish.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 201"), "the publish under way finished: {answer}");
    // the process ends soon after, the idle connection notwithstanding
    let server = server.wait_for_exit(Duration::from_secs(10));
    assert!(stopping.elapsed() < Duration::from_secs(8), "stopped in {:?}", stopping.elapsed());
    let server = server.restart();
    let release = get(&server.api("/packages/inflight/releases/1.0.0"), &[]);
    assert_eq!(release.status, 200, "the acknowledged release is there after the restart");
}

#[test]
fn every_documented_operation_is_served_with_its_pattern() {
    let server = Server::start_with("hexyard", &[("HEXYARD_RATE_LIMIT_ANONYMOUS", "0")]);
    let served = get(&format!("{}/api/openapi.json", server.url), &[]);
    assert_eq!(served.status, 200);
    assert_eq!(served.text(), hexyard_api::openapi::text(), "the document served is the one built");
    let on_disk = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/specs/openapi.json")).unwrap();
    assert_eq!(served.text(), on_disk);
    let operations = hexyard_api::openapi::operations();
    for d in &operations {
        let path = d
            .path
            .replace("{repository}", "hexyard")
            .replace("{name}", "nothing")
            .replace("{version}", "1.0.0")
            .replace("{username}", "nobody")
            .replace("{key}", "nokey");
        let answer = request(&d.operation.method.to_uppercase(), &format!("{}{path}", server.url), &[], None);
        assert!(answer.status < 500, "{} {path}: {}", d.operation.method, answer.status);
    }
    // the route each request took, as /metrics counted it: the documented pattern and method
    let metrics = get(&format!("{}/metrics", server.url), &[]).text();
    for d in &operations {
        let label = format!(
            r#"hexyard_http_requests_total{{method="{}",route="{}","#,
            d.operation.method.to_uppercase(),
            d.path
        );
        // (a 405 would mean the path matched but not the method)
        let taken = metrics.lines().any(|l| l.starts_with(&label) && !l.contains(r#"status="405""#));
        assert!(taken, "{label} was not served by its route:\n{metrics}");
    }
}

#[test]
fn the_postmaster_killed_under_load_means_quick_503s_then_recovery_by_itself() {
    let server = std::sync::Arc::new(Server::start("hexyard"));
    let key = server.user_with_key("alice", &[]);
    assert_eq!(server.publish(&key, &tarball("before", "1.0.0", &[]), false).status, 201);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // readers of the signed registry, served from memory the whole time
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let (server, stop) = (server.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut statuses = Vec::new();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    statuses.push(get(&format!("{}/repo/packages/before", server.url), &[]).status);
                }
                statuses
            })
        })
        .collect();
    let pid = std::fs::read_to_string(server.data_dir().join("postgres/postmaster.pid")).unwrap();
    let pid = pid.lines().next().unwrap().trim().to_owned();
    assert!(Command::new("kill").args(["-KILL", &pid]).status().unwrap().success());
    let killed = Instant::now();
    let mut answers = Vec::new();
    let mut recovered = None;
    for i in 0.. {
        let started = Instant::now();
        let answer = server.publish(&key, &tarball(&format!("during{i}"), "1.0.0", &[]), false);
        answers.push((answer.status, started.elapsed(), answer.text()));
        if answer.status == 201 && i > 0 {
            recovered = Some(killed.elapsed());
            break;
        }
        assert!(killed.elapsed() < Duration::from_secs(30), "no recovery: {answers:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for reader in readers {
        let statuses = reader.join().unwrap();
        assert!(statuses.iter().all(|s| *s == 200), "reads kept being served: {statuses:?}");
    }
    for (status, took, text) in &answers {
        assert!(*status == 201 || *status == 503, "a write while the database was gone: {status} {text}");
        assert!(*took < Duration::from_millis(2500), "answered in {took:?}: {status} {text}");
        if *status == 503 {
            assert!(text.contains("the database is unavailable"), "{text}");
        }
    }
    let recovered = recovered.unwrap();
    let unavailable = answers.iter().filter(|(s, _, _)| *s == 503).count();
    let slowest = answers.iter().map(|(_, took, _)| *took).max().unwrap_or_default();
    eprintln!("{unavailable} writes answered 503 (slowest answer {slowest:?}), publishing again after {recovered:?}");
    assert!(recovered < Duration::from_secs(10), "recovered after {recovered:?}");
    assert_eq!(get(&format!("{}/health", server.url), &[]).status, 200);
    assert!(server.log().contains("starting it again"), "the supervisor restarted the cluster");
}

//! Crash safety: the server killed (SIGKILL) in the middle of concurrent publishes, ten times
//! over one data dir. Every acknowledged release is there afterwards with its checksum and its
//! tarball, and the collector that runs at start-up leaves no blob unreferenced.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sha2::Digest;

use crate::support::*;

/// A package name and the tarball published as its 1.0.0.
type Published = (String, Vec<u8>);

#[test]
fn sigkill_during_concurrent_publishes_loses_nothing_acknowledged_and_leaves_no_orphans() {
    let unlimited = [("HEXYARD_RATE_LIMIT_ANONYMOUS", "0"), ("HEXYARD_RATE_LIMIT_AUTHENTICATED", "0")];
    let mut server = Server::start_with("hexyard", &unlimited);
    let key = server.user_with_key("alice", &[]);
    // (name, tarball) of every publish the server answered 201
    let acknowledged: Arc<Mutex<Vec<Published>>> = Arc::default();
    for run in 0..10 {
        let stop = Arc::new(AtomicBool::new(false));
        let url = server.api("/publish");
        let publishers: Vec<_> = (0..8)
            .map(|t| {
                let (stop, acknowledged, key, url) = (stop.clone(), acknowledged.clone(), key.clone(), url.clone());
                std::thread::spawn(move || {
                    for i in 0.. {
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                        let name = format!("crash{run}_{t}_{i}");
                        let body = tarball(&name, "1.0.0", &[]);
                        let answer = std::panic::catch_unwind(|| {
                            request("POST", &url, &[("authorization", key.as_str())], Some(&body))
                        });
                        match answer {
                            Ok(a) if a.status == 201 => acknowledged.lock().unwrap().push((name, body)),
                            // the server is gone: connection refused or reset
                            _ => break,
                        }
                    }
                })
            })
            .collect();
        // the kill lands at a different moment of the publishes each run
        std::thread::sleep(Duration::from_millis(400 + 150 * run));
        let pid = server.pid();
        assert!(std::process::Command::new("kill").args(["-KILL", &pid.to_string()]).status().unwrap().success());
        stop.store(true, Ordering::Relaxed);
        for p in publishers {
            p.join().unwrap();
        }
        server = server.wait_for_exit(Duration::from_secs(10)).restart();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(acknowledged.len() > 50, "only {} publishes were acknowledged", acknowledged.len());
    eprintln!("{} publishes acknowledged over 10 kills", acknowledged.len());
    for (name, body) in &acknowledged {
        let release = get(&server.api(&format!("/packages/{name}/releases/1.0.0")), &[]);
        assert_eq!(release.status, 200, "acknowledged {name} is lost");
        let checksum = hexyard_tarball::hex_lower(&sha2::Sha256::digest(body));
        assert_eq!(release.json()["checksum"], checksum.as_str(), "{name} changed");
        let served = get(&format!("{}/repo/tarballs/{name}-1.0.0.tar", server.url), &[]);
        assert_eq!(&served.body, body, "{name}'s tarball");
    }
    // the collector ran at start-up: nothing unreferenced, nothing half-written
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let verify = server.cli(&["registry", "verify"]);
        let out = text(&verify);
        assert!(verify.status.success(), "{out}");
        if out.contains("no unreferenced blobs") {
            break;
        }
        assert!(Instant::now() < deadline, "orphans left:\n{out}");
        std::thread::sleep(Duration::from_millis(200));
    }
    let staging: Vec<_> = walk(&server.data_dir().join("blobs")).into_iter().filter(|p| p.contains('#')).collect();
    assert!(staging.is_empty(), "{staging:?}");
    // the cluster outlived the killed servers (the last one only shares it): stopped by hand
    let pid = std::fs::read_to_string(server.data_dir().join("postgres/postmaster.pid")).unwrap();
    let pid = pid.lines().next().unwrap().trim().to_owned();
    drop(server);
    let _ = std::process::Command::new("kill").args(["-INT", &pid]).status();
}

fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walk(&path));
        } else {
            found.push(path.display().to_string());
        }
    }
    found
}

#[test]
fn registry_gc_removes_what_nothing_refers_to_and_keeps_the_rest() {
    let server = Server::start("hexyard");
    let key = server.user_with_key("alice", &[]);
    let body = tarball("kept", "1.0.0", &[]);
    assert_eq!(server.publish(&key, &body, false).status, 201);
    // what a crash leaves: a blob no release names, a half-written file
    let blobs = server.data_dir().join("blobs/tarballs/ff");
    std::fs::create_dir_all(&blobs).unwrap();
    std::fs::write(blobs.join(format!("{}.tar", "f".repeat(64))), b"orphan").unwrap();
    std::fs::write(blobs.join(format!("{}.tar#3", "e".repeat(64))), b"half").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500)); // the index rebuilt after the publish
    let verify = server.cli(&["registry", "verify"]);
    let out = text(&verify);
    assert!(verify.status.success(), "orphans are reported, not failures: {out}");
    assert!(out.contains(&format!("unreferenced blob tarballs/ff/{}.tar (6 bytes)", "f".repeat(64))), "{out}");
    assert!(out.contains("half-written blob file") && out.contains("2 unreferenced blob(s)"), "{out}");
    let gc = server.cli(&["registry", "gc"]);
    assert!(text(&gc).contains("removed 1 unreferenced blob(s) (6 bytes) and 1 half-written file(s)"), "{}", text(&gc));
    assert!(text(&server.cli(&["registry", "verify"])).contains("no unreferenced blobs"));
    assert_eq!(get(&format!("{}/repo/tarballs/kept-1.0.0.tar", server.url), &[]).body, body, "the used one stays");
    // a tarball referred to but gone is a failure of verify
    let checksum = hexyard_tarball::hex_lower(&sha2::Sha256::digest(&body));
    std::fs::remove_file(server.data_dir().join(format!("blobs/tarballs/{}/{checksum}.tar", &checksum[..2]))).unwrap();
    let verify = server.cli(&["registry", "verify"]);
    assert!(!verify.status.success() && text(&verify).contains("is referred to but missing"), "{}", text(&verify));
}

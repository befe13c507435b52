//! Bad and concurrent input over HTTP: hex.pm's statuses and messages, never a 5xx, never a
//! half-written release.

use std::sync::Arc;
use std::time::{Duration, Instant};

use hexyard_tarball::testing::{GOOD_METADATA, Raw, file, gzip, package, package_with_contents, raw_tar};

use crate::support::*;

#[test]
fn replace_rules() {
    let server = Server::start("hexyard");
    let key = server.user_with_key("alice", &[]);
    let v1 = tarball("jason", "1.0.0", &[]);
    assert_eq!(server.publish(&key, &v1, false).status, 201);
    let again = server.publish(&key, &v1, false);
    assert_eq!(again.status, 422);
    assert!(again.text().contains("--replace"), "{}", again.text());
    // replace: true (and absent, which means true) within the hour answers 200
    let changed = tarball("jason", "1.0.0", &[("cowboy", "~> 2.0", Some("hexpm"))]);
    assert_eq!(server.publish(&key, &changed, true).status, 200);
    let url = server.api("/packages/jason/releases");
    let absent = request("POST", &url, &[("authorization", &key)], Some(&v1));
    assert_eq!(absent.status, 200, "{}", absent.text());
    let tarball_url = format!("{}/repo/tarballs/jason-1.0.0.tar", server.url);
    assert_eq!(get(&tarball_url, &[]).body, v1, "the replaced tarball is served");
}

#[test]
fn concurrent_publishes_of_one_version_have_one_winner() {
    let server = Arc::new(Server::start("hexyard"));
    let key = server.user_with_key("alice", &[]);
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let (server, key) = (server.clone(), key.clone());
            // different bytes each: only one may become 1.0.0
            let body = tarball("race", "1.0.0", &[("dep", &format!("~> {i}.0"), Some("hexpm"))]);
            std::thread::spawn(move || server.publish(&key, &body, false))
        })
        .collect();
    let statuses: Vec<u16> = threads.into_iter().map(|t| t.join().unwrap().status).collect();
    assert_eq!(statuses.iter().filter(|&&s| s == 201).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|&s| s == 201 || s == 422), "{statuses:?}");
    let release = get(&server.api("/packages/race/releases/1.0.0"), &[]).json();
    let served = get(&format!("{}/repo/tarballs/race-1.0.0.tar", server.url), &[]).body;
    assert_eq!(release["checksum"].as_str().unwrap(), hexyard_tarball::hex_lower(&sha(&served)));
}

fn sha(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}

#[test]
fn concurrent_publishes_of_different_packages_all_reach_versions() {
    let server = Arc::new(Server::start("hexyard"));
    let key = server.user_with_key("alice", &[]);
    let threads: Vec<_> = (0..16)
        .map(|i| {
            let (server, key) = (server.clone(), key.clone());
            std::thread::spawn(move || server.publish(&key, &tarball(&format!("pkg{i}"), "0.1.0", &[]), false).status)
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap(), 201);
    }
    let done = Instant::now();
    let config = hexpm::Config {
        api_base: format!("{}/api/", server.url).parse().unwrap(),
        repository_base: format!("{}/repo/", server.url).parse().unwrap(),
    };
    let public_key = server.public_key();
    loop {
        let resp = run(hexpm::repository_v2_get_versions_request(None, &config));
        let versions = hexpm::repository_v2_get_versions_response(to_http(resp), public_key.as_bytes()).unwrap();
        if versions.len() == 16 {
            break;
        }
        assert!(done.elapsed() < Duration::from_secs(1), "/versions lists {} of 16 after 1 s", versions.len());
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn bad_tarballs_get_422_with_hexpm_messages() {
    let server = Server::start("hexyard");
    let key = server.user_with_key("alice", &[]);
    let contents = gzip(&raw_tar(&[file(b"src/a.erl", b"-module(a).")]));
    let link = Raw { name: b"src/x", kind: tar::EntryType::Symlink, data: b"", link: b"/etc/passwd" };
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("traversal", package_with_contents(&[file(b"../../etc/x", b"boom")])),
        ("absolute", package_with_contents(&[file(b"/etc/x", b"boom")])),
        ("symlink", package_with_contents(&[link])),
        ("duplicate", package_with_contents(&[file(b"a", b"1"), file(b"./a", b"2")])),
        ("checksum", package(b"3", GOOD_METADATA, &contents, Some(&[b'0'; 64]))),
        ("version 2", package(b"2", GOOD_METADATA, &contents, None)),
        ("truncated gzip", package(b"3", GOOD_METADATA, &contents[..contents.len() / 2], None)),
        ("bad metadata", package(b"3", b"{<<\"name\">>, 1.5}.", &contents, None)),
        ("non-utf8 name", package_with_contents(&[file(b"caf\xe9", b"1")])),
        ("missing members", raw_tar(&[file(b"VERSION", b"3")])),
        ("not a tar", b"hello, world".to_vec()),
        ("empty", vec![]),
    ];
    for (what, body) in cases {
        let resp = server.publish(&key, &body, false);
        assert_eq!(resp.status, 422, "{what}: {}", resp.text());
        let json = resp.json();
        assert_eq!(json["status"], 422, "{what}");
        assert!(json["errors"]["tar"].is_string(), "{what}: {json}");
    }
    // a gzip bomb: 129 MiB of zeros in about 130 KiB
    let zeros = vec![0u8; 129 << 20];
    let bomb = package(b"3", GOOD_METADATA, &gzip(&raw_tar(&[file(b"zeros", &zeros)])), None);
    let resp = server.publish(&key, &bomb, false);
    assert_eq!(resp.status, 422);
    assert!(resp.json()["errors"]["tar"].as_str().unwrap().contains("max uncompressed size"));
    assert_eq!(get(&server.api("/packages/evil"), &[]).status, 404, "nothing was half-written");
}

#[test]
fn limits_permissions_and_dependencies() {
    let server = Server::start("hexyard");
    let key = server.user_with_key("alice", &[]);
    let oversize = vec![0u8; (16 << 20) + 1];
    assert_eq!(server.publish(&key, &oversize, false).status, 413);

    let body = tarball("ecto", "1.0.0", &[]);
    let anonymous = request("POST", &server.api("/publish"), &[], Some(&body));
    assert_eq!(anonymous.status, 401);
    let read_key = server.user_with_key("reader", &["api:read"]);
    let read = server.publish(&read_key, &body, false);
    assert_eq!((read.status, read.json()["message"].as_str()), (401, Some("key not authorized for this action")));
    let scoped = server.user_with_key("scoped", &["package:other"]);
    assert_eq!(server.publish(&scoped, &body, false).status, 401);
    assert_eq!(server.publish(&key, &body, false).status, 201);
    let mallory = server.user_with_key("mallory", &[]);
    let steal = server.publish(&mallory, &tarball("ecto", "1.0.1", &[]), false);
    assert_eq!((steal.status, steal.json()["message"].as_str()), (403, Some("account not authorized for this action")));
    // a package-scoped key of an owner may publish that package
    let owner_scoped = server.admin(&["key", "create", "alice", "ecto-ci", "--permission", "package:ecto"]);
    assert_eq!(server.publish(&owner_scoped, &tarball("ecto", "1.0.2", &[]), false).status, 201);

    // the name in the URL must match the tarball
    let url = server.api("/packages/other/releases?replace=false");
    let mismatch = request("POST", &url, &[("authorization", &key)], Some(&tarball("ecto", "1.0.3", &[])));
    assert_eq!(mismatch.status, 422);
    assert_eq!(mismatch.json()["errors"]["name"], "metadata does not match package name");

    let missing = server.publish(&key, &tarball("app", "1.0.0", &[("ghost", "~> 1.0", Some("hexyard"))]), false);
    assert_eq!(missing.status, 422);
    assert_eq!(missing.json()["errors"]["requirements"]["ghost"], "package does not exist in repository \"hexyard\"");
    let elsewhere = server.publish(&key, &tarball("app", "1.0.0", &[("xx", "~> 1.0", Some("acme"))]), false);
    assert_eq!(elsewhere.status, 422);
    assert!(elsewhere.json()["errors"]["requirements"]["xx"].as_str().unwrap().contains("acme"));
    let ok =
        server.publish(&key, &tarball("app", "1.0.0", &[("ecto", "~> 1.0", None), ("phoenix", "~> 1.7", None)]), false);
    assert_eq!(ok.status, 201, "{}", ok.text());
    let reqs = &ok.json()["requirements"];
    assert_eq!(reqs["ecto"].get("repository"), None, "a local dependency");
    assert_eq!(reqs["phoenix"]["repository"], "hexpm", "an unknown one is hex.pm's");
    let reserved = server.publish(&key, &tarball("elixir", "1.0.0", &[]), false);
    assert_eq!((reserved.status, reserved.json()["errors"]["name"].as_str()), (422, Some("is reserved")));
}

/// Writes a request head with `Expect: 100-continue`, and returns what the server says before
/// any body byte is sent.
fn expect_continue(server: &Server, key: &str, length: usize) -> (std::net::TcpStream, String) {
    expect_continue_at(server, "/api/packages/foo/releases?replace=false", key, length, &[])
}

/// The same, for an upload to `path`.
pub(crate) fn expect_continue_at(
    server: &Server,
    path: &str,
    key: &str,
    length: usize,
    extra: &[(&str, &str)],
) -> (std::net::TcpStream, String) {
    use std::io::{Read, Write};
    let addr = server.url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: hexyard-tests\r\n\
         Authorization: {key}\r\nAccept: application/vnd.hex+erlang\r\nContent-Type: application/octet-stream\r\n\
         Content-Length: {length}\r\nExpect: 100-continue\r\n{}\r\n",
        extra.iter().map(|(n, v)| format!("{n}: {v}\r\n")).collect::<String>()
    );
    stream.write_all(head.as_bytes()).unwrap();
    let mut buf = vec![0u8; 4096];
    let n = stream.read(&mut buf).unwrap();
    (stream, String::from_utf8_lossy(&buf[..n]).into_owned())
}

#[test]
fn expect_continue_refuses_before_the_body() {
    use std::io::{Read, Write};
    let server = Server::start("acme");
    let key = server.user_with_key("alice", &[]);
    let read_key = server.user_with_key("reader", &["api:read"]);
    let body = fixture_tarball("foo-0.1.0.tar");

    for (bad, status) in [("not-a-key", "401"), (read_key.as_str(), "401")] {
        let (_, answer) = expect_continue(&server, bad, body.len());
        assert!(answer.starts_with(&format!("HTTP/1.1 {status}")), "{answer}");
        assert!(!answer.contains("100 Continue"), "{answer}");
        assert!(answer.to_ascii_lowercase().contains("content-type: application/vnd.hex+erlang"), "{answer}");
    }
    let (_, answer) = expect_continue(&server, &key, (16 << 20) + 1);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");

    // a good key gets 100 Continue, then the body publishes
    let (mut stream, answer) = expect_continue(&server, &key, body.len());
    assert!(answer.starts_with("HTTP/1.1 100 Continue"), "{answer}");
    stream.write_all(&body).unwrap();
    let mut buf = vec![0u8; 8192];
    let n = stream.read(&mut buf).unwrap();
    let answer = String::from_utf8_lossy(&buf[..n]);
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
}

//! The defects found in review of the first release (issue 8), each shown over HTTP against the
//! built server, as a user or a client met them.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::json;

use crate::support::*;

const JSON: (&str, &str) = ("content-type", "application/json");

/// Defect 1: A far-future `revoke_at` whose UTC instant is past the year 9999 panicked the worker and
/// dropped the connection; every out-of-range date is a 422 now.
#[test]
fn out_of_range_revocation_times_are_422_not_a_dropped_connection() {
    let server = Server::start("hexyard");
    let key = server.user_with_key("ann", &[]);
    for revoke_at in ["9999-12-31T23:59:59-23:59", "+10000-01-01T00:00:00Z", "0000-01-01T00:00:00Z", "never"] {
        let body = json!({"name": "k", "revoke_at": revoke_at}).to_string();
        let answer = request("POST", &server.api("/keys"), &[("authorization", &key), JSON], Some(body.as_bytes()));
        assert_eq!(answer.status, 422, "{revoke_at}: {}", answer.text());
        assert!(answer.json()["errors"]["revoke_at"].is_string(), "{revoke_at}");
    }
    let body = json!({"name": "k", "revoke_at": "9999-12-31T23:59:59Z"}).to_string();
    let latest = request("POST", &server.api("/keys"), &[("authorization", &key), JSON], Some(body.as_bytes()));
    assert_eq!((latest.status, latest.json()["revoke_at"].as_str()), (201, Some("9999-12-31T23:59:59Z")));
    assert_eq!(get(&server.api("/keys"), &[("authorization", &key)]).status, 200, "the server still answers");
}

/// Defect 2: `GET /api/users/EMAIL` turned any address into a username; only a public, confirmed
/// email finds its user now.
#[test]
fn an_email_finds_a_user_only_when_public_and_confirmed() {
    let server = Server::start("hexyard");
    server.user_with_key("alice", &[]);
    let url = server.api("/users/alice@example.com");
    assert_eq!(get(&url, &[]).status, 404, "a private email");
    server.psql("UPDATE emails SET is_public = true WHERE email = 'alice@example.com'");
    assert_eq!(get(&url, &[]).json()["username"], "alice");
    server.psql("UPDATE emails SET verified = false WHERE email = 'alice@example.com'");
    assert_eq!(get(&url, &[]).status, 404, "an unconfirmed email");
    assert_eq!(get(&server.api("/users/alice"), &[]).json()["username"], "alice");
    assert_eq!(get(&server.api("/users/not%20a%20name"), &[]).status, 404, "a malformed name is refused unread");
}

/// Defect 4: Six concurrent registrations of one new username answered three 201s; one wins now, and
/// the rest are told the name is taken (never a 500).
#[test]
fn concurrent_registrations_of_one_username_make_one_account() {
    let server = Server::start("hexyard");
    let url = server.api("/users");
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..6)
            .map(|i| {
                let url = &url;
                s.spawn(move || {
                    let body = json!({"username": "racer", "email": format!("r{i}@example.com"), "password": format!("secret {i}")});
                    request("POST", url, &[JSON], Some(body.to_string().as_bytes())).status
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 422).count(), 5, "{statuses:?}");
    assert_eq!(server.psql("SELECT count(*) FROM users WHERE username = 'racer'").trim(), "1");
}

/// Defect 5: The mix.exs snippet of an organization's package said `organization: "acme"`, which mix
/// resolves to hex.pm; it names the repository as the README adds it.
#[test]
fn an_organization_package_snippet_names_its_repository() {
    let server = Server::start("hexyard");
    let ann = server.user_with_key("ann", &[]);
    server.admin(&["org", "create", "acme", "--owner", "ann"]);
    let published = request(
        "POST",
        &server.api("/repos/acme/publish"),
        &[("authorization", &ann)],
        Some(&tarball("secret_lib", "1.2.0", &[])),
    );
    assert_eq!(published.status, 201, "{}", published.text());
    let configs = &published.json()["configs"];
    assert_eq!(configs["mix.exs"], "{:secret_lib, \"~> 1.2\", repo: \"acme\"}");
    let package = get(&server.api("/repos/acme/packages/secret_lib"), &[("authorization", &ann)]).json();
    assert_eq!(package["configs"]["mix.exs"], "{:secret_lib, \"~> 1.2\", repo: \"acme\"}");
}

fn read_response(stream: &mut TcpStream) -> String {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk).unwrap();
        if n == 0 {
            break;
        }
        buffer.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buffer);
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse::<usize>().unwrap())
                })
                .unwrap_or(0);
            if body.len() >= length {
                return text.into_owned();
            }
        }
    }
    String::from_utf8_lossy(&buffer).into_owned()
}

/// Defect 6: Idle keep-alive connections were closed after about 5 s, the device flow's polling
/// interval, so mix's next poll on its kept connection failed now and then. They stay open
/// well beyond it.
#[test]
fn an_idle_connection_outlives_the_device_flow_interval() {
    let server = Server::start("hexyard");
    let address = server.url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let ask = format!("GET /health HTTP/1.1\r\nhost: {address}\r\n\r\n");
    stream.write_all(ask.as_bytes()).unwrap();
    assert!(read_response(&mut stream).starts_with("HTTP/1.1 200"));
    // the interval the device flow advertises, and then some
    std::thread::sleep(Duration::from_secs(8));
    stream.write_all(ask.as_bytes()).unwrap();
    let second = read_response(&mut stream);
    assert!(second.starts_with("HTTP/1.1 200"), "the kept connection answers again: {second:?}");
}

/// Defect 7: HEAD answered 404 where GET answered 200, and a known path with another method "Page not
/// found". HEAD is GET without a body now; a wrong method is a 405 with `Allow`.
#[test]
fn head_is_get_without_a_body_and_a_wrong_method_is_405() {
    let server = Server::start("hexyard");
    let key = server.user_with_key("ann", &[]);
    assert_eq!(server.publish(&key, &tarball("plug", "1.0.0", &[]), false).status, 201);
    for path in ["/repo/names", "/repo/packages/plug", "/repo/tarballs/plug-1.0.0.tar", "/api/packages/plug", "/health"]
    {
        let url = format!("{}{path}", server.url);
        let full = get(&url, &[]);
        let head = request("HEAD", &url, &[], None);
        assert_eq!((head.status, full.status), (200, 200), "{path}");
        assert!(head.body.is_empty(), "{path}: no body");
        assert_eq!(head.header("content-length"), Some(full.body.len().to_string().as_str()), "{path}");
        assert_eq!(head.header("etag"), full.header("etag"), "{path}");
    }
    let wrong = request("DELETE", &server.api("/packages/plug"), &[], None);
    assert_eq!(wrong.status, 405);
    assert_eq!(wrong.header("allow"), Some("GET"));
    assert_eq!(wrong.json(), json!({"status": 405, "message": "Method not allowed"}));
    let put = request("PUT", &server.api("/keys"), &[("authorization", &key)], None);
    let allow = put.header("allow").unwrap_or_default().to_owned();
    assert_eq!(put.status, 405);
    assert!(["GET", "POST", "DELETE"].iter().all(|m| allow.contains(m)), "{allow}");
    assert_eq!(request("POST", &format!("{}/repo/names", server.url), &[], None).status, 405);
    let post = request("POST", &format!("{}/repo/tarballs/plug-1.0.0.tar", server.url), &[], None);
    assert_eq!((post.status, post.header("allow")), (405, Some("GET, HEAD")));
    assert_eq!(request("POST", &format!("{}/repo/nothing", server.url), &[], None).status, 404);
    assert_eq!(get(&server.api("/nothing/here"), &[]).status, 404, "an unknown path is still a 404");
}

/// Defect 8: The audit trail took addresses from forwarding headers anyone can forge; like the rate
/// limits, it takes the connection's own.
#[test]
fn forwarding_headers_do_not_choose_the_recorded_address() {
    let server = Server::start("hexyard");
    let key = server.user_with_key("ann", &[]);
    let forged =
        [("authorization", key.as_str()), ("x-forwarded-for", "203.0.113.9"), ("forwarded", "for=203.0.113.9")];
    assert_eq!(get(&server.api("/users/me"), &forged).status, 200);
    // read with another key, which leaves the first one's last use alone
    let reader = server.admin(&["key", "create", "ann", "reader"]);
    let keys = get(&server.api("/keys"), &[("authorization", &reader)]).json();
    let main = keys.as_array().unwrap().iter().find(|k| k["name"] == "main").unwrap();
    assert_eq!(main["last_use"]["ip"], "127.0.0.1", "{keys}");
}

/// One log line per request with its id, never a secret; an internal error logged with its
/// whole chain under the id the client was given.
#[test]
fn requests_are_logged_with_ids_and_internal_errors_with_their_cause() {
    let server = Server::start_with("hexyard", &[("HEXYARD_LOG", "info")]);
    let key = server.user_with_key("ann", &[]);
    let me = get(&server.api("/users/me?key=query-secret"), &[("authorization", &key)]);
    let id = me.header("x-request-id").unwrap().to_owned();
    // the audit table gone: the next write fails inside the database
    server.psql("ALTER TABLE audit_logs RENAME TO audit_logs_away");
    let failed = request("POST", &server.api("/keys"), &[("authorization", &key), JSON], Some(br#"{"name":"x"}"#));
    server.psql("ALTER TABLE audit_logs_away RENAME TO audit_logs");
    assert_eq!(failed.json(), json!({"status": 500, "message": "Internal server error"}));
    let failed_id = failed.header("x-request-id").unwrap().to_owned();
    std::thread::sleep(Duration::from_millis(300));
    let log = server.log();
    let line = log.lines().find(|l| l.contains(&id) && l.contains("/api/users/me")).unwrap_or_else(|| panic!("{log}"));
    assert!(line.contains("GET") && line.contains("status=200") && line.contains("duration_ms"), "{line}");
    assert!(!log.contains(&key) && !log.contains("query-secret"), "secrets are never logged");
    let error = log.lines().find(|l| l.contains(&failed_id) && l.contains("ERROR")).unwrap_or_else(|| panic!("{log}"));
    assert!(error.contains("audit_logs") && error.contains("does not exist"), "the whole chain: {error}");
}

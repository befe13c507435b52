//! Rate limits over HTTP, counted together by two servers on one database.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::support::*;

/// Waits out the end of a minute, so that a test's requests fall in one window.
fn start_of_a_window() {
    let second = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() % 60;
    if second > 40 {
        std::thread::sleep(Duration::from_secs(61 - second));
    }
}

#[test]
fn limits_are_shared_by_two_servers_and_answered_with_429() {
    let a = Server::start_with(
        "hexyard",
        &[("HEXYARD_RATE_LIMIT_ANONYMOUS", "5"), ("HEXYARD_RATE_LIMIT_AUTHENTICATED", "8")],
    );
    let b = a.replica();
    let key = a.user_with_key("alice", &[]);
    start_of_a_window();

    let mut remaining = Vec::new();
    for server in [&a, &a, &a, &b, &b] {
        let resp = get(&server.api("/packages"), &[]);
        assert_eq!(resp.status, 200);
        assert_eq!(resp.header("x-ratelimit-limit"), Some("5"));
        remaining.push(resp.header("x-ratelimit-remaining").unwrap().to_owned());
    }
    assert_eq!(remaining, ["4", "3", "2", "1", "0"], "one count across both servers");
    let over = get(&a.api("/packages"), &[]);
    assert_eq!(over.status, 429);
    assert_eq!(over.json()["message"], "API rate limit exceeded for IP 127.0.0.1");
    assert_eq!(over.header("x-ratelimit-remaining"), Some("0"));
    let reset: u64 = over.header("x-ratelimit-reset").unwrap().parse().unwrap();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    assert!(reset > now && reset <= now + 60, "{reset} vs {now}");
    let etf = get(&b.api("/packages"), &[("accept", "application/vnd.hex+erlang")]);
    assert_eq!(etf.status, 429);
    assert!(etf.header("content-type").unwrap().contains("vnd.hex+erlang"));

    // a user has a budget of their own, also shared
    for server in [&a, &b, &a, &b, &a, &b, &a, &b] {
        assert_eq!(get(&server.api("/users/me"), &[("authorization", &key)]).status, 200);
    }
    let over = get(&b.api("/users/me"), &[("authorization", &key)]);
    assert_eq!((over.status, over.json()["message"].as_str()), (429, Some("API rate limit exceeded for user alice")));
    // the repository is not rate limited
    assert_eq!(get(&format!("{}/repo/names", a.url), &[]).status, 200);
}

//! Several servers behind one database serve one registry; the registry can be verified and
//! rebuilt from the database.

use std::time::{Duration, Instant};

use crate::support::*;

fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(1);
    while !check() {
        assert!(Instant::now() < deadline, "{what} not within 1 s");
        std::thread::sleep(Duration::from_millis(25));
    }
}

#[test]
fn a_publish_on_one_server_is_served_by_the_other() {
    let a = Server::start("hexyard");
    let b = a.replica();
    let key = a.user_with_key("alice", &[]);
    let body = tarball("shared", "1.0.0", &[]);
    assert_eq!(a.publish(&key, &body, false).status, 201);
    let from_a = get(&format!("{}/repo/packages/shared", a.url), &[]).body;
    eventually("the package resource on the replica", || {
        get(&format!("{}/repo/packages/shared", b.url), &[]).body == from_a
    });
    eventually("the tarball on the replica", || {
        get(&format!("{}/repo/tarballs/shared-1.0.0.tar", b.url), &[]).body == body
    });
    eventually("/versions on the replica", || {
        get(&format!("{}/repo/versions", b.url), &[]).body == get(&format!("{}/repo/versions", a.url), &[]).body
    });
    // and the other way round, with the key both servers know
    assert_eq!(b.publish(&key, &tarball("shared", "1.1.0", &[]), false).status, 201);
    eventually("the replica's publish on the first server", || {
        get(&format!("{}/repo/packages/shared", a.url), &[]).body
            == get(&format!("{}/repo/packages/shared", b.url), &[]).body
    });
}

#[test]
fn registry_verify_catches_tampering_and_rebuild_repairs_it() {
    let server = Server::start("hexyard");
    let key = server.user_with_key("alice", &[]);
    assert_eq!(server.publish(&key, &tarball("solid", "1.0.0", &[]), false).status, 201);
    std::thread::sleep(Duration::from_millis(500));
    let verify = server.cli(&["registry", "verify"]);
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stderr));

    // a stored resource replaced by another package's bytes: signed, but not what it should be
    server.psql(
        "UPDATE registry_resources SET body = (SELECT body FROM registry_resources WHERE path = 'names') \
         WHERE path = 'packages/solid'",
    );
    let verify = server.cli(&["registry", "verify"]);
    assert!(!verify.status.success());
    assert!(String::from_utf8_lossy(&verify.stdout).contains("packages/solid"), "{verify:?}");

    let rebuild = server.cli(&["registry", "rebuild"]);
    assert!(rebuild.status.success(), "{}", String::from_utf8_lossy(&rebuild.stderr));
    assert!(server.cli(&["registry", "verify"]).status.success());
}

#[test]
fn a_server_started_later_serves_what_is_stored_at_once() {
    let a = Server::start("hexyard");
    let key = a.user_with_key("alice", &[]);
    let body = tarball("stored", "1.0.0", &[]);
    assert_eq!(a.publish(&key, &body, false).status, 201);
    // a new process on the same database starts from the stored registry: nothing to wait for
    let b = a.replica();
    assert_eq!(get(&format!("{}/repo/packages/stored", b.url), &[]).status, 200);
    assert_eq!(get(&format!("{}/repo/tarballs/stored-1.0.0.tar", b.url), &[]).body, body);
}

#[test]
fn a_revert_on_one_server_is_served_by_the_other() {
    let a = Server::start("hexyard");
    let b = a.replica();
    let key = a.user_with_key("alice", &[]);
    for version in ["1.0.0", "1.1.0"] {
        assert_eq!(a.publish(&key, &tarball("gone", version, &[]), false).status, 201);
    }
    eventually("the replica serves the tarball", || {
        get(&format!("{}/repo/tarballs/gone-1.1.0.tar", b.url), &[]).status == 200
    });
    let revert = |version: &str| {
        request("DELETE", &a.api(&format!("/packages/gone/releases/{version}")), &[("authorization", &key)], None)
    };
    assert_eq!(revert("1.1.0").status, 204);
    eventually("the replica stops serving the reverted tarball", || {
        get(&format!("{}/repo/tarballs/gone-1.1.0.tar", b.url), &[]).status == 404
    });
    assert_eq!(revert("1.0.0").status, 204);
    eventually("the replica stops serving the removed package", || {
        get(&format!("{}/repo/packages/gone", b.url), &[]).status == 404
            && get(&format!("{}/repo/tarballs/gone-1.0.0.tar", b.url), &[]).status == 404
    });
}

//! The blob store on a real S3-compatible server (moto): the test command starts one and names
//! it in `HEXYARD_TEST_S3_ENDPOINT`; without it, a test starts its own. Each server gets a
//! bucket of its own. With `HEXYARD_TEST_BLOB_STORE=s3` every server of the suite keeps its
//! blobs there (the test command runs the publish, fetch, docs, revert and replica tests so).

use std::process::Command;
use std::time::Duration;

use crate::support::s3::{bucket, keys, settings};
use crate::support::*;
use hexyard_tarball::testing::{file, gzip, raw_tar};

/// A server whose blobs are in a new bucket, and the bucket.
fn server_on_s3(repository: &str) -> (Server, String) {
    let bucket = bucket();
    let settings = settings(&bucket, "blobs");
    let env: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    (Server::start_with(repository, &env), bucket)
}

#[test]
fn publish_fetch_docs_and_revert_keep_blobs_in_the_bucket() {
    let (server, bucket) = server_on_s3("hexyard");
    let key = server.user_with_key("alice", &[]);
    let body = tarball("stored", "1.0.0", &[]);
    assert_eq!(server.publish(&key, &body, false).status, 201);
    assert_eq!(server.publish(&key, &tarball("stored", "1.1.0", &[]), false).status, 201);
    let tarballs: Vec<String> = keys(&bucket).into_iter().filter(|k| k.starts_with("blobs/tarballs/")).collect();
    assert_eq!(tarballs.len(), 2, "{tarballs:?}");
    assert!(!server.data_dir().join("blobs").exists(), "nothing written to the local blob directory");

    // a new process (no memory cache) reads the tarball back from the bucket, byte for byte
    let server = server.restart();
    assert_eq!(get(&format!("{}/repo/tarballs/stored-1.0.0.tar", server.url), &[]).body, body);

    // docs go to the bucket and are served from it
    let docs = gzip(&raw_tar(&[file(b"index.html", b"<h1>stored</h1>")]));
    let up = server.upload_docs(&key, "stored", "1.0.0", &docs);
    assert_eq!(up.status, 201, "{}", up.text());
    assert!(keys(&bucket).iter().any(|k| k.starts_with("blobs/docs/")), "{:?}", keys(&bucket));
    assert_eq!(get(&format!("{}/repo/docs/stored-1.0.0.tar.gz", server.url), &[]).body, docs);

    // a revert removes the release's tarball from the bucket
    let reverted = request("DELETE", &server.api("/packages/stored/releases/1.1.0"), &[("authorization", &key)], None);
    assert_eq!(reverted.status, 204, "{}", reverted.text());
    let tarballs: Vec<String> = keys(&bucket).into_iter().filter(|k| k.starts_with("blobs/tarballs/")).collect();
    assert_eq!(tarballs.len(), 1, "{tarballs:?}");

    // (the index is rebuilt just after the answer)
    std::thread::sleep(Duration::from_millis(500));
    let verify = server.cli(&["registry", "verify"]);
    assert!(verify.status.success(), "{}", text(&verify));
}

#[test]
fn a_store_that_cannot_be_reached_is_refused_at_start_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_hexyard"))
        .args(["serve"])
        .env("HEXYARD_DATA_DIR", dir.path())
        .env("HEXYARD_LISTEN", "127.0.0.1:0")
        .env("HEXYARD_BLOB_STORE", "s3://")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs a bucket"), "{}", text(&out));
}

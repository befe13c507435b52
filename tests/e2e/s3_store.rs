//! A real S3-compatible server (moto) for the blob store: the test command starts one and
//! names it in `HEXYARD_TEST_S3_ENDPOINT`; without it, a test process starts its own.

use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use super::{get, request, which};

/// The S3 endpoint the tests use.
pub fn endpoint() -> &'static str {
    static ENDPOINT: OnceLock<String> = OnceLock::new();
    ENDPOINT.get_or_init(|| match std::env::var("HEXYARD_TEST_S3_ENDPOINT") {
        Ok(url) if !url.is_empty() => url,
        _ => start_moto(),
    })
}

/// A moto server of this test process's own, on a free port (it ends with the process).
fn start_moto() -> String {
    static CHILD: OnceLock<std::sync::Mutex<Child>> = OnceLock::new();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let moto = which("moto_server").expect("moto_server (pip install 'moto[server]'; scripts/test does)");
    let child = Command::new(moto)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    CHILD.set(std::sync::Mutex::new(child)).ok();
    let url = format!("http://127.0.0.1:{port}");
    crate::support::wait_for_port(port, Duration::from_secs(30), "moto_server");
    url
}

/// A new, empty bucket.
pub fn bucket() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let name = format!("hexyard-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
    let created = request("PUT", &format!("{}/{name}", endpoint()), &[], None);
    assert_eq!(created.status, 200, "creating bucket {name}: {}", created.text());
    name
}

/// The settings that put a server's blobs in `bucket` under `prefix`.
pub fn settings(bucket: &str, prefix: &str) -> Vec<(String, String)> {
    vec![
        ("HEXYARD_BLOB_STORE".into(), format!("s3://{bucket}/{prefix}")),
        ("AWS_ENDPOINT_URL".into(), endpoint().to_owned()),
        ("AWS_ACCESS_KEY_ID".into(), "hexyard-test".into()),
        ("AWS_SECRET_ACCESS_KEY".into(), "hexyard-test-secret".into()),
        ("AWS_REGION".into(), "us-east-1".into()),
    ]
}

/// The keys in `bucket` (listed by the S3 API itself, not through hexyard).
pub fn keys(bucket: &str) -> Vec<String> {
    let listing = get(&format!("{}/{bucket}?list-type=2&max-keys=1000", endpoint()), &[]).text();
    listing.split("<Key>").skip(1).filter_map(|k| k.split("</Key>").next()).map(str::to_owned).collect()
}

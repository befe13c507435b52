//! The `hexyard` binary's key and tarball commands, run as a user runs them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn hexyard(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hexyard"))
        .args(args)
        .env("HEXYARD_DATA_DIR", data_dir)
        .env_remove("HEXYARD_REPOSITORY")
        .output()
        .unwrap()
}

fn fixtures() -> PathBuf {
    match std::env::var_os("HEXYARD_FIXTURES") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures"),
    }
}

fn stdout(out: &Output) -> String {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout.clone()).unwrap()
}

#[test]
fn keys_generate_then_public() {
    let dir = tempfile::tempdir().unwrap();
    stdout(&hexyard(dir.path(), &["keys", "generate"]));
    let key_file = dir.path().join("keys/hexyard.pem");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777, 0o600);
    }
    // a second generate must not silently replace the key
    let again = hexyard(dir.path(), &["keys", "generate"]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));

    let public = stdout(&hexyard(dir.path(), &["keys", "public"]));
    assert!(public.starts_with("-----BEGIN PUBLIC KEY-----\n"), "{public}");
    let private = hexyard_registry::SigningKey::from_pem(&std::fs::read_to_string(&key_file).unwrap()).unwrap();
    let parsed = hexyard_registry::VerifyingKey::from_pem(&public).unwrap();
    assert_eq!(&parsed, private.verifying_key());
    let fingerprint = stdout(&hexyard(dir.path(), &["keys", "public", "--fingerprint"]));
    assert_eq!(fingerprint.trim(), parsed.fingerprint());

    // a key for another repository lives beside it
    stdout(&hexyard(dir.path(), &["keys", "generate", "--repository", "acme"]));
    assert!(dir.path().join("keys/acme.pem").exists());
    let bad = hexyard(dir.path(), &["keys", "generate", "--repository", "Not-Valid"]);
    assert!(!bad.status.success());
}

#[test]
fn keys_public_from_a_given_file() {
    let dir = tempfile::tempdir().unwrap();
    let key = fixtures().join("registry-acme/test_private_key.pem");
    let public = stdout(&hexyard(dir.path(), &["keys", "public", "--key", key.to_str().unwrap()]));
    let expected = std::fs::read_to_string(fixtures().join("registry-acme/test_public_key.pem")).unwrap();
    assert_eq!(public.trim(), expected.trim());
    let missing = hexyard(dir.path(), &["keys", "public"]);
    assert!(String::from_utf8_lossy(&missing.stderr).contains("hexyard keys generate"));
}

#[test]
fn tarball_inspect_prints_checksums_and_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let file = fixtures().join("tarballs/baz-0.3.0.tar");
    let out = stdout(&hexyard(dir.path(), &["tarball", "inspect", file.to_str().unwrap()]));
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["name"], "baz");
    assert_eq!(json["version"], "0.3.0");
    assert_eq!(json["outer_checksum"], "30558eff50ab0a4e24cc994fc5d7bb06f727429a05809bb08106cb535ba5fef9");
    assert_eq!(json["inner_checksum"], "866cdb9a09584de15057b4f2ae4e9db49a6b4a9216389f4ed8583037b358a3d8");
    assert_eq!(json["metadata"]["requirements"][0]["name"], "foo");
    assert_eq!(json["metadata"]["requirements"][0]["requirement"], "~> 0.1.0");

    let bad = hexyard(dir.path(), &["tarball", "inspect", fixtures().join("README.md").to_str().unwrap()]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not a valid package tarball"));
}

#[test]
fn migrations_go_up_down_and_up_again_on_the_embedded_cluster() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    stdout(&hexyard(&data, &["migrate"]));
    stdout(&hexyard(&data, &["admin", "user", "create", "ann", "--email", "ann@example.com"]));
    // the migrations go down and up again; the operator then makes the (unconfirmed) account
    // again, which takes it over
    stdout(&hexyard(&data, &["migrate", "--revert"]));
    stdout(&hexyard(&data, &["migrate"]));
    stdout(&hexyard(&data, &["admin", "user", "create", "ann", "--email", "ann@example.com"]));
    let key = stdout(&hexyard(&data, &["admin", "key", "create", "ann", "ci", "--permission", "api:read"]));
    assert_eq!(key.trim().len(), 64, "only the secret is printed: {key}");
    let bad = hexyard(&data, &["admin", "key", "create", "ann", "ci2", "--permission", "bogus"]);
    assert!(!bad.status.success());
    // each command stopped the cluster it started
    assert!(!data.join("postgres/postmaster.pid").exists());
}

//! The fingerprint users pass to `mix hex.repo add … --fetch-public-key` is what mix computes
//! with `ssh:hostkey_fingerprint(sha256, Key)`; ask a real Erlang for it and compare.

use std::path::PathBuf;
use std::process::Command;

use hexyard_registry::{SigningKey, VerifyingKey};

fn erl_fingerprint(pem_path: &std::path::Path) -> String {
    let script = format!(
        "{{ok,Pem}} = file:read_file(\"{}\"), [E] = public_key:pem_decode(Pem), \
         io:format(\"~s~n\", [ssh:hostkey_fingerprint(sha256, public_key:pem_entry_decode(E))]), halt().",
        pem_path.display()
    );
    let out = Command::new("erl")
        .args(["-noshell", "-eval", &script])
        .output()
        .expect("erl is needed for this test: apt-get install erlang-nox (the README's test command does)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[test]
fn fingerprint_matches_erlang_ssh() {
    let fixtures = match std::env::var_os("HEXYARD_FIXTURES") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures"),
    };
    let path = fixtures.join("registry-acme/test_public_key.pem");
    let key = VerifyingKey::from_pem(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(key.fingerprint(), erl_fingerprint(&path));

    // a fresh key, written by us, read by Erlang's public_key
    let fresh = SigningKey::generate().unwrap();
    let dir = std::env::temp_dir().join(format!("hexyard-fp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("public_key");
    std::fs::write(&file, fresh.verifying_key().to_pem()).unwrap();
    assert_eq!(fresh.verifying_key().fingerprint(), erl_fingerprint(&file));
    std::fs::remove_dir_all(&dir).ok();
}

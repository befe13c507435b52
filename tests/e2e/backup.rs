//! `hexyard backup` and `hexyard restore`: everything published survives losing the machine.

use std::path::Path;
use std::process::Command;

use crate::docs::files_named;
use crate::support::*;
use hexyard_tarball::testing::{file, gzip, raw_tar};

/// `hexyard restore FILE` into `data_dir`, with `env`.
fn restore(data_dir: &Path, file: &Path, env: &[(&str, &str)]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_hexyard"))
        .arg("restore")
        .arg(file)
        .env("HEXYARD_DATA_DIR", data_dir)
        .env("HEXYARD_REPOSITORY", "hexyard")
        .env("HEXYARD_LOG", "warn")
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

/// What a client sees of the registry: the signed resources and the tarballs, byte for byte.
fn seen(server: &Server, names: &[&str]) -> Vec<(String, Vec<u8>)> {
    let mut paths = vec!["/repo/names".to_owned(), "/repo/versions".to_owned()];
    paths.extend(names.iter().map(|n| format!("/repo/packages/{}", n.split('-').next().unwrap())));
    paths.extend(names.iter().map(|n| format!("/repo/tarballs/{n}.tar")));
    paths.push("/repo/docs/kept-1.0.0.tar.gz".to_owned());
    paths
        .into_iter()
        .map(|p| {
            let answer = get(&format!("{}{p}", server.url), &[]);
            assert_eq!(answer.status, 200, "{p}");
            (p, answer.body)
        })
        .collect()
}

fn backup_destroy_restore(s3: bool) {
    let bucket = s3.then(crate::support::s3::bucket);
    let settings = bucket.as_deref().map(|b| crate::support::s3::settings(b, "blobs")).unwrap_or_default();
    let env: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let server = Server::start_with("hexyard", &env);
    let key = server.user_with_key("alice", &[]);
    let kept = tarball("kept", "1.0.0", &[]);
    assert_eq!(server.publish(&key, &kept, false).status, 201);
    assert_eq!(server.publish(&key, &tarball("kept", "1.1.0", &[]), false).status, 201);
    let uses = tarball("uses", "0.1.0", &[("kept", "~> 1.0.0", None)]);
    assert_eq!(server.publish(&key, &uses, false).status, 201);
    let retire = request(
        "POST",
        &server.api("/packages/kept/releases/1.1.0/retire"),
        &[("authorization", &key), ("content-type", "application/json")],
        Some(br#"{"reason": "security", "message": "CVE-1"}"#),
    );
    assert_eq!(retire.status, 204, "{}", retire.text());
    let docs = gzip(&raw_tar(&[file(b"index.html", b"<h1>kept</h1>")]));
    let up = server.upload_docs(&key, "kept", "1.0.0", &docs);
    assert_eq!(up.status, 201, "{}", up.text());
    std::thread::sleep(std::time::Duration::from_millis(500)); // the index rebuilt after the answers
    let releases = ["kept-1.0.0", "kept-1.1.0", "uses-0.1.0"];
    let before = seen(&server, &releases);

    // backed up while the server runs
    let safe = tempfile::tempdir().unwrap();
    let archive = safe.path().join("hexyard.backup");
    let out = server.cli(&["backup", archive.to_str().unwrap(), "--include-secrets"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("4 blobs"), "{}", text(&out));
    let without = safe.path().join("no-secret.backup");
    assert!(server.cli(&["backup", without.to_str().unwrap()]).status.success());
    let secret = std::fs::read_to_string(server.data_dir().join("secret")).unwrap();
    let listing = Command::new("tar").arg("tzf").arg(&without).output().unwrap();
    let listing = String::from_utf8_lossy(&listing.stdout).into_owned();
    assert!(listing.contains("keys/hexyard.pem") && !listing.lines().any(|l| l == "secret"), "{listing}");

    // the machine is lost: the server, its database and data dir (and the bucket is not used
    // again: the restore goes to a new one)
    drop(server);
    let settings = match bucket {
        Some(_) => crate::support::s3::settings(&crate::support::s3::bucket(), "restored"),
        None => Vec::new(),
    };
    let env: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();

    // restored into a new data dir (and bucket)
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let out = restore(&data_dir, &archive, &env);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(std::fs::read_to_string(data_dir.join("secret")).unwrap(), secret);
    // a second restore finds the database in use and changes nothing
    let again = restore(&data_dir, &archive, &env);
    assert!(!again.status.success() && text(&again).contains("not empty"), "{}", text(&again));

    let server = Server::start_in(dir, "hexyard", &env);
    let verify = server.cli(&["registry", "verify"]);
    assert!(verify.status.success(), "{}", text(&verify));
    assert_eq!(seen(&server, &releases), before, "the same signed registry and tarballs, byte for byte");
    // the old key still works (the secret came back), the retirement is kept
    let me = get(&server.api("/users/me"), &[("authorization", &key)]);
    assert_eq!(me.status, 200, "{}", me.text());
    let release = get(&server.api("/packages/kept/releases/1.1.0"), &[]).json();
    assert_eq!(release["retirement"]["message"], "CVE-1", "{release}");
    // and a new publish gets fresh ids after the restored ones
    assert_eq!(server.publish(&key, &tarball("kept", "1.2.0", &[]), false).status, 201);

    // rebar3 fetches the restored tarballs, byte-identical to those published
    let project = tempfile::tempdir().unwrap();
    let config = format!(
        "{{deps, [uses]}}.\n{{hex, [{{repos, replace, [#{{name => <<\"hexyard\">>, repo_url => <<\"{url}/repo\">>, \
         api_url => <<\"{url}/api\">>, repo_verify => true, repo_public_key => {pem}}}]}}]}}.\n",
        url = server.url,
        pem = erl_bin(&server.public_key()),
    );
    std::fs::write(project.path().join("rebar.config"), config).unwrap();
    let out = rebar3_get_deps(project.path(), &[]);
    assert!(out.status.success(), "{}\n{}", text(&out), server.log());
    for (name, published) in [("uses-0.1.0.tar", &uses), ("kept-1.0.0.tar", &kept)] {
        let cached = files_named(&project.path().join("cache"), name);
        assert_eq!(cached.len(), 1, "{name} in rebar3's cache: {cached:?}");
        assert_eq!(&std::fs::read(&cached[0]).unwrap(), published, "{name}");
    }
}

#[test]
fn backup_destroy_restore_then_verify_and_fetch() {
    backup_destroy_restore(false);
}

#[test]
fn backup_from_an_s3_bucket_restores_into_a_new_bucket() {
    backup_destroy_restore(true);
}

#[test]
fn restore_refuses_what_is_not_a_backup() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.backup");
    std::fs::write(&junk, gzip(&raw_tar(&[file(b"blobs/../../evil", b"x")]))).unwrap();
    let out = restore(&dir.path().join("data"), &junk, &[]);
    assert!(!out.status.success());
    assert!(text(&out).contains("not a hexyard backup"), "{}", text(&out));
    assert!(files_named(dir.path(), "evil").is_empty());
}

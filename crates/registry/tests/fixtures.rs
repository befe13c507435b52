//! The registry that `mix hex.registry build` signed (../shared/fixtures/registry-acme) decodes
//! and verifies; our own resources for the same packages decode to the same messages and are
//! accepted by an independent verifier, Gleam's `hexpm` crate.

use std::io::Read;
use std::path::PathBuf;
use std::time::{Duration, UNIX_EPOCH};

use hexyard_registry::{
    Dependency, NamesEntry, PackageEntry, Release, SigningKey, VerifyingKey, VersionsEntry, build, decode_names,
    decode_package, decode_versions, sign_and_gzip,
};
use hexyard_tarball::{Limits, Package};

const PACKAGES: [&str; 3] = ["bar", "baz", "foo"];

fn fixtures() -> PathBuf {
    match std::env::var_os("HEXYARD_FIXTURES") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures"),
    }
}

fn read(path: &str) -> Vec<u8> {
    std::fs::read(fixtures().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn read_text(path: &str) -> String {
    String::from_utf8(read(path)).unwrap()
}

fn tarball(name: &str) -> Package {
    let file = match name {
        "foo" => "foo-0.1.0.tar",
        "bar" => "bar-1.2.0-rc.1.tar",
        _ => "baz-0.3.0.tar",
    };
    hexyard_tarball::read(&read(&format!("tarballs/{file}")), &Limits::default()).unwrap()
}

fn both_public_keys() -> [VerifyingKey; 2] {
    [
        VerifyingKey::from_pem(&read_text("registry-acme/public_key")).expect("BEGIN RSA PUBLIC KEY"),
        VerifyingKey::from_pem(&read_text("registry-acme/test_public_key.pem")).expect("BEGIN PUBLIC KEY"),
    ]
}

#[test]
fn every_fixture_file_verifies_with_both_pem_forms() {
    let [pkcs1, spki] = both_public_keys();
    assert_eq!(pkcs1, spki);
    for key in [&pkcs1, &spki] {
        let names = decode_names(&read("registry-acme/names"), key, "acme").unwrap();
        assert_eq!(names.packages.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), PACKAGES);
        let versions = decode_versions(&read("registry-acme/versions"), key, "acme").unwrap();
        assert_eq!(versions.packages.len(), 3);
        for name in PACKAGES {
            let package = decode_package(&read(&format!("registry-acme/packages/{name}")), key, "acme", name).unwrap();
            assert_eq!(package.releases.len(), 1);
        }
    }
}

#[test]
fn fixture_checks_refuse_the_wrong_origin_key_or_bytes() {
    let [key, _] = both_public_keys();
    let names = read("registry-acme/names");
    assert!(matches!(
        decode_names(&names, &key, "hexpm"),
        Err(hexyard_registry::RegistryError::WrongRepository { .. })
    ));
    let foo = read("registry-acme/packages/foo");
    assert!(matches!(
        decode_package(&foo, &key, "acme", "bar"),
        Err(hexyard_registry::RegistryError::WrongName { .. })
    ));
    let other = SigningKey::generate().unwrap();
    assert_eq!(decode_names(&names, other.verifying_key(), "acme"), Err(hexyard_registry::RegistryError::BadSignature));
    assert!(matches!(decode_names(b"not gzip", &key, "acme"), Err(hexyard_registry::RegistryError::Gzip(_))));
}

/// What our server would publish for the fixture packages in repository `acme`.
fn our_entries() -> Vec<PackageEntry> {
    PACKAGES
        .iter()
        .map(|name| {
            let t = tarball(name);
            let dependencies = t
                .metadata
                .requirements
                .iter()
                .map(|d| Dependency {
                    package: d.name.to_string(),
                    requirement: d.requirement.to_string(),
                    optional: d.optional,
                    app: d.app.clone(),
                    repository: d.repository.as_ref().map_or("acme".to_owned(), |r| r.to_string()),
                })
                .collect();
            PackageEntry {
                name: name.to_string(),
                releases: vec![Release {
                    version: t.metadata.version.clone(),
                    inner_checksum: t.inner_checksum,
                    outer_checksum: t.outer_checksum,
                    dependencies,
                    retired: None,
                    published_at: Some(UNIX_EPOCH + Duration::from_secs(1_700_000_000)),
                }],
            }
        })
        .collect()
}

fn test_signing_key() -> SigningKey {
    SigningKey::from_pem(&read_text("registry-acme/test_private_key.pem")).unwrap()
}

#[test]
fn our_resources_decode_to_the_fixture_messages() {
    let key = test_signing_key();
    let [public, _] = both_public_keys();
    assert_eq!(key.verifying_key(), &public);
    let entries = our_entries();

    for entry in &entries {
        let ours = sign_and_gzip(&build::package("acme", entry), &key);
        let mut ours = decode_package(&ours, &public, "acme", &entry.name).unwrap();
        let mut theirs =
            decode_package(&read(&format!("registry-acme/packages/{}", entry.name)), &public, "acme", &entry.name)
                .unwrap();
        // the publication time is the only thing the two builds do not share
        for (a, b) in ours.releases.iter_mut().zip(&theirs.releases) {
            a.published_at = b.published_at;
        }
        // `mix hex.registry build` writes `optional: false` and `app` equal to the package;
        // hex.pm's server, and we, leave both out (Gleam's client reads a present `optional`
        // as true). They mean the same to mix and rebar3, so compare them as such.
        for dep in theirs.releases.iter_mut().flat_map(|r| r.dependencies.iter_mut()) {
            dep.optional = dep.optional.filter(|&o| o);
            dep.app = dep.app.take().filter(|app| *app != dep.package);
        }
        assert_eq!(ours, theirs, "packages/{}", entry.name);
    }

    let versions: Vec<VersionsEntry> = entries
        .iter()
        .map(|e| VersionsEntry { name: e.name.clone(), releases: vec![(e.releases[0].version.clone(), false, false)] })
        .collect();
    let ours = decode_versions(&sign_and_gzip(&build::versions("acme", &versions), &key), &public, "acme").unwrap();
    let theirs = decode_versions(&read("registry-acme/versions"), &public, "acme").unwrap();
    assert_eq!(ours, theirs);

    let theirs = decode_names(&read("registry-acme/names"), &public, "acme").unwrap();
    let names: Vec<NamesEntry> = theirs
        .packages
        .iter()
        .map(|p| NamesEntry {
            name: p.name.clone(),
            updated_at: p.updated_at.as_ref().map(|t| UNIX_EPOCH + Duration::new(t.seconds as u64, t.nanos as u32)),
        })
        .collect();
    let ours = decode_names(&sign_and_gzip(&build::names("acme", &names), &key), &public, "acme").unwrap();
    assert_eq!(ours, theirs);
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes).read_to_end(&mut out).unwrap();
    out
}

#[test]
fn gleam_hexpm_crate_accepts_our_resources() {
    let key = test_signing_key();
    let public_pem = key.verifying_key().to_pem();
    assert!(public_pem.starts_with("-----BEGIN PUBLIC KEY-----"));
    let entries = our_entries();

    let versions: Vec<VersionsEntry> = entries
        .iter()
        .map(|e| VersionsEntry { name: e.name.clone(), releases: vec![(e.releases[0].version.clone(), false, false)] })
        .collect();
    let body = gunzip(&sign_and_gzip(&build::versions("acme", &versions), &key));
    let parsed = hexpm::repository_v2_get_versions_body(&body, public_pem.as_bytes()).unwrap();
    assert_eq!(parsed.len(), 3);
    assert_eq!(parsed["bar"].iter().map(|v| v.to_string()).collect::<Vec<_>>(), ["1.2.0-rc.1"]);

    for entry in &entries {
        let body = gunzip(&sign_and_gzip(&build::package("acme", entry), &key));
        let package = hexpm::repository_v2_package_parse_body(&body, public_pem.as_bytes()).unwrap();
        assert_eq!(package.name, entry.name);
        assert_eq!(package.repository, "acme");
        let release = &package.releases[0];
        assert_eq!(release.outer_checksum, entry.releases[0].outer_checksum);
        assert_eq!(release.version.to_string(), entry.releases[0].version.to_string());
        for dep in &entry.releases[0].dependencies {
            let theirs = &release.requirements[&dep.package];
            // the crate reads a present `optional` as true: ours is only present when true
            assert_eq!(theirs.optional, dep.optional, "{}: {}", entry.name, dep.package);
            let repo = theirs.repository.as_deref().unwrap_or("acme");
            assert_eq!(repo, dep.repository);
        }
    }

    // a resource signed by another key is refused by the crate too
    let other = SigningKey::generate().unwrap();
    let body = gunzip(&sign_and_gzip(&build::versions("acme", &versions), &other));
    assert!(hexpm::repository_v2_get_versions_body(&body, public_pem.as_bytes()).is_err());
}

#[test]
fn keys_load_in_both_private_forms_and_round_trip() {
    use rsa::pkcs1::EncodeRsaPrivateKey;
    use rsa::pkcs8::DecodePrivateKey;
    let pkcs8 = read_text("registry-acme/test_private_key.pem");
    let from8 = SigningKey::from_pem(&pkcs8).unwrap();
    let pkcs1 = rsa::RsaPrivateKey::from_pkcs8_pem(&pkcs8).unwrap().to_pkcs1_pem(rsa::pkcs1::LineEnding::LF).unwrap();
    assert!(pkcs1.starts_with("-----BEGIN RSA PRIVATE KEY-----"));
    let from1 = SigningKey::from_pem(&pkcs1).unwrap();
    assert_eq!(from1.verifying_key(), from8.verifying_key());
    let again = SigningKey::from_pem(&from8.to_pem()).unwrap();
    assert_eq!(again.verifying_key(), from8.verifying_key());
    let signature = from1.sign(b"payload");
    assert!(from8.verifying_key().verify(b"payload", &signature));
    assert!(!from8.verifying_key().verify(b"payloaD", &signature));

    let fresh = SigningKey::generate().unwrap();
    assert_eq!(fresh.verifying_key().bits(), 2048);
    assert_eq!(&VerifyingKey::from_pem(&fresh.verifying_key().to_pem()).unwrap(), fresh.verifying_key());
    assert!(SigningKey::from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n").is_err());
    assert!(VerifyingKey::from_pem("hello").is_err());
}

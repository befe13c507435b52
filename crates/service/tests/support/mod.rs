//! Services over a fresh test database, with a blob store in a temporary directory.

#![allow(dead_code)]

use hexyard_core::{PackageName, Version};
use hexyard_service::keys::{KeyOwner, KeyRequest};
use hexyard_service::{Init, Origin, Principal, Services, Settings};
use hexyard_storage::blobs::BlobStore;
use hexyard_tarball::Metadata;
use hexyard_testdb::TestDb;

#[allow(missing_debug_implementations)]
pub struct World {
    pub services: Services,
    pub db: TestDb,
    pub blobs: tempfile::TempDir,
}

/// A signing key made once by the real clients' tooling, from the shared fixtures.
fn signing_key() -> hexyard_registry::SigningKey {
    let fixtures = std::env::var_os("HEXYARD_FIXTURES").map_or_else(
        || std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures"),
        std::path::PathBuf::from,
    );
    let pem = std::fs::read_to_string(fixtures.join("registry-acme/test_private_key.pem")).unwrap();
    hexyard_registry::SigningKey::from_pem(&pem).unwrap()
}

pub async fn world() -> World {
    let db = TestDb::new().await;
    let blobs = tempfile::tempdir().unwrap();
    let init = Init {
        db: db.pool.clone(),
        blobs: BlobStore::local(blobs.path()).unwrap(),
        settings: Settings {
            public_url: "http://registry.test".into(),
            limits: hexyard_tarball::Limits::default(),
            rate_limits: hexyard_service::RateLimits::default(),
            oauth_clients: hexyard_service::default_oauth_clients(),
            downloads_flush: hexyard_service::downloads::FLUSH_EVERY,
            count_downloads: true,
            mirror: None,
        },
        secret: "test secret".into(),
        repository: "hexyard".into(),
        signing_key: signing_key(),
        mailer: hexyard_service::mail::Mailer::new(None, "hexyard <h@localhost>", blobs.path().join("mail")).unwrap(),
    };
    let services = Services::open(init).await.unwrap();
    services.public().load(&services.db).await.unwrap();
    World { services, db, blobs }
}

impl World {
    /// A confirmed user and the principal of an `api` key of theirs.
    pub async fn user(&self, name: &str) -> Principal {
        let email = format!("{name}@example.com");
        let user = hexyard_service::users::create_by_admin(&self.services, name, &email, None, true).await.unwrap();
        let request = KeyRequest { name: Some("main".into()), ..Default::default() };
        let key = hexyard_service::keys::create(&self.services, KeyOwner::User(user.id), &request, &Default::default())
            .await
            .unwrap();
        self.principal(&key.secret).await
    }

    pub async fn principal(&self, secret: &str) -> Principal {
        hexyard_service::principal::authenticate(&self.services, Some(secret), &Origin::default())
            .await
            .unwrap()
            .unwrap()
    }

    /// How many blobs the store holds.
    pub fn blob_count(&self) -> usize {
        walk(&self.blobs.path().join("tarballs"))
    }
}

fn walk(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| entries.flatten().map(|e| if e.path().is_dir() { walk(&e.path()) } else { 1 }).sum())
        .unwrap_or(0)
}

/// A package tarball; `salt` changes its bytes.
pub fn tarball(name: &str, version: &str, salt: &str) -> bytes::Bytes {
    let metadata = Metadata {
        name: PackageName::parse_existing(name).unwrap(),
        version: Version::parse(version).unwrap(),
        app: name.to_owned(),
        description: Some(format!("The {name} package {salt}")),
        licenses: vec!["MIT".into()],
        links: Default::default(),
        requirements: vec![],
        build_tools: vec!["rebar3".into()],
        elixir: None,
        files: vec![format!("src/{name}.erl")],
        maintainers: vec![],
        extra: serde_json::Value::Null,
    };
    let source = format!("-module({name}).\n% {salt}\n").into_bytes();
    bytes::Bytes::from(hexyard_tarball::build(&metadata, &[(format!("src/{name}.erl"), source)]))
}

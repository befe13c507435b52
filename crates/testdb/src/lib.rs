//! A fresh, migrated database for each storage and service test, in milliseconds: one embedded
//! Postgres cluster shared by every test process (started by the first, under a file lock, and
//! left running), one template database migrated once per set of migrations, and a
//! `CREATE DATABASE … TEMPLATE …` clone per test, dropped when the test ends.
//!
//! The cluster lives in `$TMPDIR/hexyard-testdb-UID` (or `HEXYARD_TEST_PG_DIR`).

use std::fs::File;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use hexyard_postgres::Embedded;
use hexyard_storage::{PgConnectOptions, PgPool, PgPoolOptions};

/// A test's own database; dropped (forcibly) when this is dropped.
#[derive(Debug)]
pub struct TestDb {
    pub pool: PgPool,
    name: String,
}

/// The directory of the shared cluster, created when missing.
fn dir() -> PathBuf {
    let dir = std::env::var_os("HEXYARD_TEST_PG_DIR")
        .map_or_else(|| std::env::temp_dir().join(format!("hexyard-testdb-{}", uid())), PathBuf::from);
    std::fs::create_dir_all(&dir).expect("the test cluster's directory");
    dir
}

/// The shared cluster, started once per process.
fn cluster() -> &'static Embedded {
    static CLUSTER: OnceLock<Embedded> = OnceLock::new();
    CLUSTER.get_or_init(|| {
        let dir = dir();
        let _lock = lock(&dir.join(".lock"));
        let mut cluster = Embedded::start(&dir).expect("the embedded Postgres cluster for tests");
        cluster.keep_running();
        cluster
    })
}

fn uid() -> u32 {
    std::os::unix::fs::MetadataExt::uid(&std::fs::metadata("/proc/self").expect("/proc/self"))
}

/// An exclusive lock held until the file is dropped.
fn lock(path: &std::path::Path) -> File {
    let file = File::options().create(true).truncate(false).write(true).open(path).expect("the lock file");
    file.lock().expect("locking the test cluster");
    file
}

/// The template's name: it changes with the migrations, so a stale template is never cloned.
fn template_name() -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for m in hexyard_storage::MIGRATOR.iter() {
        for byte in m.version.to_le_bytes().iter().chain(m.checksum.iter()) {
            hash = (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("hexyard_template_{hash:016x}")
}

fn options(database: &str) -> PgConnectOptions {
    cluster().connect_options().database(database)
}

/// Builds the template database once (per set of migrations, across processes).
async fn ensure_template() {
    static DONE: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    DONE.get_or_init(|| async {
        let name = template_name();
        let _lock = lock(&dir().join(".template.lock"));
        let exists = cluster().psql(&format!("SELECT 1 FROM pg_database WHERE datname = '{name}'")).expect("psql");
        if exists == "1" {
            return;
        }
        let building = format!("{name}_building");
        cluster().psql(&format!("DROP DATABASE IF EXISTS {building}")).expect("dropping a half-built template");
        cluster().psql(&format!("CREATE DATABASE {building}")).expect("creating the template");
        let pool = PgPoolOptions::new().max_connections(1).connect_with(options(&building)).await.expect("connecting");
        hexyard_storage::migrate(&pool).await.expect("migrating the template");
        pool.close().await;
        cluster().psql(&format!("ALTER DATABASE {building} RENAME TO {name}")).expect("naming the template");
    })
    .await;
}

impl TestDb {
    /// A new database, migrated, for this test alone.
    pub async fn new() -> TestDb {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        ensure_template().await;
        let name = format!("t_{}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed));
        cluster()
            .psql(&format!("CREATE DATABASE {name} TEMPLATE {}", template_name()))
            .expect("cloning the template database");
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .connect_with(options(&name))
            .await
            .expect("connecting to the test db");
        TestDb { pool, name }
    }

    /// A second pool on the same database (for racing transactions).
    pub async fn another_pool(&self, max_connections: u32) -> PgPool {
        PgPoolOptions::new().max_connections(max_connections).connect_with(options(&self.name)).await.expect("a pool")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        // the pool's connections are forced off: the test is over
        let _ = cluster().psql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
    }
}

//! `hexyard serve`: the registry server.

use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use anyhow::Context;
use hexyard_api::blob_cache::BlobCache;
use hexyard_api::state::TARBALL_CACHE_BYTES;
use hexyard_api::{ApiConfig, AppState, RepositoryRegistry};
use hexyard_storage::blobs::BlobStore;
use hexyard_tarball::Limits;

use crate::config::Config;
use crate::database::Database;
use crate::secrets;

pub async fn run(config: Config) -> anyhow::Result<()> {
    let db = Database::open(&config, 32).await?;
    let result = serve(&config, &db).await;
    db.close().await;
    result
}

async fn serve(config: &Config, db: &Database) -> anyhow::Result<()> {
    hexyard_storage::migrate(&db.pool).await.context("migrating the database")?;
    let secret_text = secrets::server_secret_text(config)?;
    let secret = hexyard_auth::ServerSecret::new(secret_text.as_bytes());
    let blobs = BlobStore::open(config.blob_store.as_deref(), &config.data_dir.join("blobs"))?;
    let repo = hexyard_storage::repositories::ensure(&db.pool, &config.repository, true).await?;
    let key = secrets::signing_key(config, &repo.name)?;
    let public = Arc::new(RepositoryRegistry::new(repo.id, repo.name.clone(), true, key));
    public.load(&db.pool).await.context("loading the registry")?;
    tokio::spawn(public.clone().run_index_rebuilds(db.pool.clone(), Duration::from_millis(200)));
    tokio::spawn(public.clone().follow_replicas(db.pool.clone()));
    tokio::spawn(prune_rate_limits(db.pool.clone(), config.rate_limits.window_seconds));

    let listener = std::net::TcpListener::bind(config.listen).with_context(|| format!("binding {}", config.listen))?;
    let bound = listener.local_addr()?;
    let public_url = config.public_url.clone().unwrap_or_else(|| format!("http://{bound}"));
    let state = web::Data::new(AppState {
        db: db.pool.clone(),
        blobs,
        config: ApiConfig {
            public_url: public_url.clone(),
            secret,
            limits: Limits::default(),
            rate_limits: config.rate_limits,
            oauth_clients: config.oauth_clients.clone(),
        },
        public: public.clone(),
        tarballs: BlobCache::new(TARBALL_CACHE_BYTES),
        sealer: hexyard_totp::Sealer::new(secret_text.as_bytes()),
        key_sealer: hexyard_totp::Sealer::with_purpose(
            hexyard_api::state::REPOSITORY_KEY_PURPOSE,
            secret_text.as_bytes(),
        ),
        private: Default::default(),
        mailer: hexyard_api::mail::Mailer::new(
            config.smtp_url.as_deref(),
            &config.mail_from,
            config.data_dir.join("mail"),
        )?,
    });
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let server = hexyard_api::server::run(state, listener, workers)?;
    print_setup(&public_url, &public);
    server.await?;
    Ok(())
}

/// What a user pastes to point mix and rebar3 at this server.
fn print_setup(url: &str, repo: &RepositoryRegistry) {
    let name = &repo.name;
    let pem = String::from_utf8_lossy(&repo.public_key_pem()).trim().replace('\n', "\\n");
    println!("hexyard listening on {url}");
    println!();
    println!("mix (fetch):   mix hex.repo add {name} {url}/repo --fetch-public-key {}", repo.fingerprint());
    println!("               then in mix.exs: {{:some_package, \"~> 1.0\", repo: \"{name}\"}}");
    println!("mix (publish): HEX_API_URL={url}/api HEX_API_KEY=<key> mix hex.publish");
    println!("rebar3 (rebar.config):");
    println!(
        "  {{hex, [{{repos, [#{{name => <<\"{name}\">>, repo_url => <<\"{url}/repo\">>, api_url => <<\"{url}/api\">>, \
         repo_verify => true, repo_public_key => <<\"{pem}\">>}}]}}]}}."
    );
    println!();
}

/// Forgets rate-limit windows that have closed.
async fn prune_rate_limits(db: hexyard_storage::PgPool, window_seconds: u32) {
    loop {
        tokio::time::sleep(Duration::from_secs(60)).await;
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs()) as i64;
        if let Err(e) = hexyard_storage::rate_limits::prune(&db, now - 2 * i64::from(window_seconds)).await {
            tracing::warn!(error = %e, "pruning rate-limit counters failed");
        }
    }
}

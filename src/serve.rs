//! `hexyard serve`: the registry server. The only command that uses the HTTP crates: it
//! assembles the API and the web pages into one server over the use cases.

use actix_web::web;
use anyhow::Context;
use hexyard_service::RepositoryRegistry;

use crate::config::Config;
use crate::database::Database;

pub async fn run(config: Config) -> anyhow::Result<()> {
    let db = Database::open(&config, 32).await?;
    let result = serve(&config, &db).await;
    db.close().await;
    result
}

async fn serve(config: &Config, db: &Database) -> anyhow::Result<()> {
    hexyard_storage::migrate(&db.pool).await.context("migrating the database")?;
    let listener = std::net::TcpListener::bind(config.listen).with_context(|| format!("binding {}", config.listen))?;
    let bound = listener.local_addr()?;
    let public_url = config.public_url.clone().unwrap_or_else(|| format!("http://{bound}"));
    // before the use cases open: they register their meters with this recorder
    let metrics = install_metrics()?;
    let services = crate::services::open(config, db, &public_url).await?;
    services.start().await.context("loading the registry")?;
    let services = web::Data::new(services);
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let server = hexyard_api::server::run(services.clone(), hexyard_web::configure, listener, workers, metrics)?;
    print_setup(&public_url, services.public());
    let served = server.await;
    // the server has stopped taking requests: the last downloads are counted
    if let Err(e) = services.downloads.flush(&db.pool).await {
        tracing::error!(error = %e.chain(), "adding the last download counts failed");
    }
    Ok(served?)
}

/// The Prometheus exporter (`metrics-exporter-prometheus`) as the process's recorder, and the
/// renderer `/metrics` calls.
fn install_metrics() -> anyhow::Result<Option<hexyard_api::Metrics>> {
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder).context("installing the metrics recorder")?;
    let upkeep = handle.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(5));
        loop {
            every.tick().await;
            upkeep.run_upkeep();
        }
    });
    Ok(Some(hexyard_api::Metrics(std::sync::Arc::new(move || handle.render()))))
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

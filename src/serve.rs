//! `hexyard serve`: the registry server. The only command that uses the HTTP crates: it
//! assembles the API and the web pages into one server over the use cases.

use actix_web::web;
use anyhow::Context;
use hexyard_service::RepositoryRegistry;

use crate::config::Config;
use crate::database::Database;

pub async fn run(config: Config) -> anyhow::Result<()> {
    let db = Database::open(&config, config.pool_size).await?;
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
    let metrics = if config.metrics { Some(install_metrics(config, db.pool.clone())?) } else { None };
    let services = crate::services::open(config, db, &public_url).await?;
    services.start().await.context("loading the registry")?;
    let services = web::Data::new(services);
    // leftovers of a crash removed now, then every hour
    tokio::spawn(hexyard_service::gc::sweep_forever(services.clone().into_inner()));
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let options = hexyard_api::server::Options { workers, shutdown: config.shutdown, metrics };
    let server = hexyard_api::server::run(services.clone(), pages(), listener, options)?;
    print_setup(&public_url, services.public());
    let handle = server.handle();
    let deadline = config.shutdown;
    tokio::spawn(async move {
        stop_signal().await;
        tracing::info!("stopping: finishing the requests under way");
        hexyard_api::server::stop_gracefully(handle, deadline).await;
    });
    let served = server.await;
    // the server has stopped taking requests: the last downloads are counted
    if let Err(e) = services.downloads.flush(&db.pool).await {
        tracing::error!(error = %e.chain(), "adding the last download counts failed");
    }
    Ok(served?)
}

/// SIGTERM (what service managers and container runtimes send) or Ctrl-C.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// The Prometheus exporter (`metrics-exporter-prometheus`) as the process's recorder, and the
/// renderer `/metrics` calls (which first reads the database pool's use).
fn install_metrics(config: &Config, pool: hexyard_storage::PgPool) -> anyhow::Result<hexyard_api::Metrics> {
    use hexyard_api::meters;
    use metrics_exporter_prometheus::Matcher;
    // durations as Prometheus histograms (not summaries), so replicas' can be added up
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), &meters::DURATION_BUCKETS)
        .context("the metrics' buckets")?
        .build_recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder).context("installing the metrics recorder")?;
    meters::describe();
    hexyard_service::meters::start();
    metrics::describe_gauge!("hexyard_db_pool_connections", "database connections the server holds");
    metrics::describe_gauge!("hexyard_db_pool_idle", "database connections the server holds, idle");
    metrics::describe_gauge!("hexyard_db_pool_max", "the most database connections the server opens");
    let (connections, idle) = (metrics::gauge!("hexyard_db_pool_connections"), metrics::gauge!("hexyard_db_pool_idle"));
    metrics::gauge!("hexyard_db_pool_max").set(f64::from(config.pool_size));
    let upkeep = handle.clone();
    tokio::spawn(async move {
        // the workers' request tallies every second, the exporter's upkeep every five
        let mut every = tokio::time::interval(std::time::Duration::from_secs(1));
        for second in 1u64.. {
            every.tick().await;
            meters::flush();
            if second % 5 == 0 {
                upkeep.run_upkeep();
            }
        }
    });
    let render = move || {
        connections.set(f64::from(pool.size()));
        idle.set(pool.num_idle() as f64);
        meters::flush();
        handle.render()
    };
    Ok(hexyard_api::Metrics { render: std::sync::Arc::new(render), token: config.metrics_token.clone() })
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

/// The web pages, as the API's server takes them.
fn pages() -> hexyard_api::Pages {
    hexyard_api::Pages { configure: hexyard_web::configure, not_found: hexyard_web::not_found_page }
}

//! The use cases set up from the configuration, for the server and the admin commands alike.

use anyhow::Context;
use hexyard_service::{Init, Services, Settings};
use hexyard_storage::blobs::BlobStore;
use hexyard_tarball::Limits;

use crate::config::Config;
use crate::database::Database;
use crate::secrets;

/// Opens the use cases over `db`, answering as `public_url`.
pub async fn open(config: &Config, db: &Database, public_url: &str) -> anyhow::Result<Services> {
    let blobs = BlobStore::open(config.blob_store.as_deref(), &config.data_dir.join("blobs"))?;
    let mailer = hexyard_service::mail::Mailer::new(
        config.smtp_url.as_deref(),
        &config.mail_from,
        config.data_dir.join("mail"),
    )?;
    let init = Init {
        db: db.pool.clone(),
        blobs,
        settings: Settings {
            public_url: public_url.to_owned(),
            limits: Limits::default(),
            rate_limits: config.rate_limits,
            oauth_clients: config.oauth_clients.clone(),
            downloads_flush: config.downloads_flush,
            count_downloads: config.count_downloads,
            mirror: config.mirror.clone(),
        },
        secret: secrets::server_secret_text(config)?,
        repository: config.repository.clone(),
        signing_key: secrets::signing_key(config, &config.repository)?,
        mailer,
    };
    Services::open(init).await.map_err(|e| anyhow::anyhow!(e.chain())).context("setting up")
}

/// For the admin commands: the database migrated, the use cases opened (nothing served).
pub async fn for_admin(config: &Config, db: &Database) -> anyhow::Result<Services> {
    hexyard_storage::migrate(&db.pool).await.context("migrating the database")?;
    let public_url = config.public_url.clone().unwrap_or_else(|| format!("http://{}", config.listen));
    open(config, db, &public_url).await
}

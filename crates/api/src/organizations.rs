//! Creating an organization: the name rules, its private repository with a signing key of its
//! own (sealed in the database), and its first admin. Used by the admin command and the web page.

use hexyard_core::{HEXPM, RepositoryName};
use hexyard_registry::SigningKey;
use hexyard_storage::orgs::{self, Created, Organization};
use hexyard_storage::{PgPool, audit, repositories};
use serde_json::json;

use crate::error::ApiError;

/// Why an organization was not created.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error("name {0}")]
    InvalidName(String),
    #[error("the name is taken")]
    Taken,
    #[error("{0}")]
    Internal(ApiError),
}

impl From<ApiError> for CreateError {
    fn from(e: ApiError) -> Self {
        CreateError::Internal(e)
    }
}

/// Creates the organization `name` with `owner_id` as its admin.
pub async fn create(
    db: &PgPool,
    key_sealer: &hexyard_totp::Sealer,
    public_repository: &str,
    name: &str,
    owner_id: i64,
    seats: i32,
    actor: &audit::Actor,
) -> Result<Organization, CreateError> {
    RepositoryName::parse(name).map_err(|e| CreateError::InvalidName(e.to_string()))?;
    if name == HEXPM || name == public_repository {
        return Err(CreateError::Taken);
    }
    let key = tokio::task::spawn_blocking(SigningKey::generate)
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    let sealed = key_sealer.seal(key.to_pem().as_bytes());
    let mut tx = db.begin().await.map_err(ApiError::from)?;
    let org = match orgs::create(&mut tx, name, owner_id, seats).await.map_err(ApiError::from)? {
        Created::Organization(org) => org,
        Created::NameTaken => return Err(CreateError::Taken),
    };
    repositories::set_signing_key(&mut *tx, org.repository_id, &sealed).await.map_err(ApiError::from)?;
    audit::record(&mut *tx, actor, "organization.create", json!({"organization": org.name, "seats": seats}))
        .await
        .map_err(ApiError::from)?;
    tx.commit().await.map_err(ApiError::from)?;
    tracing::info!(
        organization = org.name,
        fingerprint = key.verifying_key().fingerprint(),
        "created organization {}",
        org.name
    );
    Ok(org)
}

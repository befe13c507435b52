//! `hexyard admin`: accounts and keys, against the same database as the server (also while it
//! runs).

use std::io::Read;

use anyhow::{Context, bail};
use clap::Subcommand;
use hexyard_auth::{KeySecret, Permission};
use hexyard_storage::keys::{NewKey, StoredPermission};
use hexyard_storage::users::{Created, NewUser};
use hexyard_storage::{audit, keys, users};
use serde_json::json;

use crate::config::Config;
use crate::database::Database;
use crate::secrets;

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// User accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// API keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Organizations.
    #[command(subcommand)]
    Org(OrgCommand),
}

#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Create an organization, with its private repository, and USER as its first admin.
    Create {
        name: String,
        #[arg(long)]
        owner: String,
        /// How many members it may have.
        #[arg(long, default_value_t = 10)]
        seats: i32,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account.
    Create {
        name: String,
        #[arg(long)]
        email: String,
        /// Read the password from standard input (otherwise the account can only use keys).
        #[arg(long)]
        password_stdin: bool,
        /// Mark the email confirmed, so the account may publish at once.
        #[arg(long)]
        confirmed: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Create an API key for a user and print only its secret.
    Create {
        user: String,
        key_name: String,
        /// DOMAIN[:RESOURCE], repeatable: api, api:read, api:write, repositories,
        /// repository:NAME, package:NAME. Default: api.
        #[arg(long = "permission")]
        permissions: Vec<String>,
    },
}

pub async fn run(cmd: AdminCommand, config: Config) -> anyhow::Result<()> {
    let db = Database::open(&config, 2).await?;
    let result = match cmd {
        AdminCommand::User(UserCommand::Create { name, email, password_stdin, confirmed }) => {
            create_user(&db, &name, &email, password_stdin, confirmed).await
        }
        AdminCommand::Key(KeyCommand::Create { user, key_name, permissions }) => {
            create_key(&config, &db, &user, &key_name, &permissions).await
        }
        AdminCommand::Org(OrgCommand::Create { name, owner, seats }) => {
            create_org(&config, &db, &name, &owner, seats).await
        }
    };
    db.close().await;
    result
}

async fn create_user(
    db: &Database,
    name: &str,
    email: &str,
    password_stdin: bool,
    confirmed: bool,
) -> anyhow::Result<()> {
    hexyard_storage::migrate(&db.pool).await?;
    let hash = if password_stdin {
        let mut password = String::new();
        std::io::stdin().read_to_string(&mut password)?;
        let password = password.trim_end_matches(['\n', '\r']).to_owned();
        if password.chars().count() < 7 {
            bail!("the password needs at least 7 characters");
        }
        Some(tokio::task::spawn_blocking(move || hexyard_auth::hash_password(&password)).await?)
    } else {
        None
    };
    let mut tx = db.pool.begin().await?;
    let new = NewUser { username: name, email, password_hash: hash.as_deref(), email_verified: confirmed };
    let user = match users::create(&mut tx, &new).await? {
        Created::User(user) => user,
        Created::UsernameTaken => bail!("the username {name:?} is taken"),
        Created::EmailTaken => bail!("the email {email:?} is in use"),
    };
    let actor = audit::Actor { user_id: Some(user.id), user_agent: Some("hexyard admin".into()), ..Default::default() };
    audit::record(&mut *tx, &actor, "user.create", json!({"username": name, "by": "admin"})).await?;
    tx.commit().await?;
    eprintln!("created user {}", user.username);
    Ok(())
}

async fn create_key(
    config: &Config,
    db: &Database,
    user: &str,
    key_name: &str,
    given: &[String],
) -> anyhow::Result<()> {
    hexyard_storage::migrate(&db.pool).await?;
    let secret_key = secrets::server_secret(config)?;
    let user = users::by_name_or_email(&db.pool, user).await?.with_context(|| format!("no user {user:?}"))?;
    let mut permissions = Vec::new();
    let default = ["api".to_owned()];
    for text in if given.is_empty() { &default[..] } else { given } {
        let (domain, resource) = match text.split_once(':') {
            Some((d, r)) => (d, Some(r)),
            None => (text.as_str(), None),
        };
        let p = Permission::parse(domain, resource).with_context(|| format!("permission {text:?}"))?;
        permissions.push(StoredPermission { domain: p.domain.as_str().to_owned(), resource: p.resource });
    }
    let secret = KeySecret::generate();
    let hmac = secret.hmac(&secret_key);
    let mut tx = db.pool.begin().await?;
    let new = NewKey {
        owner: keys::Owner::User(user.id),
        name: key_name,
        secret_prefix: secret.prefix(),
        secret_hmac: &hmac,
        permissions: &permissions,
        revoke_at: None,
    };
    if keys::create(&mut tx, &new).await?.is_none() {
        bail!("{} already has a key named {key_name:?}", user.username);
    }
    let actor = audit::Actor { user_id: Some(user.id), user_agent: Some("hexyard admin".into()), ..Default::default() };
    audit::record(
        &mut *tx,
        &actor,
        "key.generate",
        json!({"name": key_name, "permissions": permissions, "by": "admin"}),
    )
    .await?;
    tx.commit().await?;
    println!("{}", secret.expose());
    Ok(())
}

async fn create_org(config: &Config, db: &Database, name: &str, owner: &str, seats: i32) -> anyhow::Result<()> {
    hexyard_storage::migrate(&db.pool).await?;
    if seats < 1 {
        bail!("an organization needs at least one seat");
    }
    let user = users::by_name_or_email(&db.pool, owner).await?.with_context(|| format!("no user {owner:?}"))?;
    let sealer = hexyard_totp::Sealer::with_purpose(
        hexyard_api::state::REPOSITORY_KEY_PURPOSE,
        secrets::server_secret_text(config)?.as_bytes(),
    );
    let actor = audit::Actor { user_id: Some(user.id), user_agent: Some("hexyard admin".into()), ..Default::default() };
    let org = hexyard_api::organizations::create(&db.pool, &sealer, &config.repository, name, user.id, seats, &actor)
        .await
        .map_err(|e| anyhow::anyhow!("organization {name:?}: {e}"))?;
    eprintln!("created organization {} with {} as admin", org.name, user.username);
    Ok(())
}

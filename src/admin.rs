//! `hexyard admin`: accounts, keys and organizations, against the same database as the server
//! (also while it runs), through the same use cases as the API.

use std::io::Read;

use anyhow::anyhow;
use clap::Subcommand;
use hexyard_core::{PackageName, UserRef, Version};
use hexyard_service::authz::Acting;
use hexyard_service::keys::{self, KeyOwner, KeyRequest};
use hexyard_service::{lifecycle, orgs, owners, users};
use hexyard_storage::audit::Actor;

use crate::config::Config;
use crate::database::Database;
use crate::services::for_admin;

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
    /// Packages: what their owners do, for the operator (audited as the admin).
    #[command(subcommand)]
    Package(PackageCommand),
}

#[derive(Debug, Subcommand)]
pub enum PackageCommand {
    /// Revert a release (no time window for the operator); the last release takes the package.
    Revert {
        name: String,
        version: String,
        /// An organization's repository instead of the public one.
        #[arg(long)]
        repository: Option<String>,
    },
    /// Retire a release: REASON is other, invalid, security, deprecated or renamed.
    Retire {
        name: String,
        version: String,
        reason: String,
        #[arg(long)]
        message: Option<String>,
        #[arg(long)]
        repository: Option<String>,
    },
    /// Unretire a release.
    Unretire {
        name: String,
        version: String,
        #[arg(long)]
        repository: Option<String>,
    },
    /// Owners of a public package.
    #[command(subcommand)]
    Owner(OwnerCommand),
}

#[derive(Debug, Subcommand)]
pub enum OwnerCommand {
    /// Add an owner (or change their level); with --transfer, USER becomes the only owner.
    Add {
        package: String,
        user: String,
        /// full or maintainer.
        #[arg(long, default_value = "full")]
        level: String,
        #[arg(long)]
        transfer: bool,
    },
    /// Remove an owner (never the last full one).
    Remove { package: String, user: String },
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
    /// Create an API key for a user and print only its secret. A name the user already has
    /// becomes NAME-2 (NAME-3, …), as on hex.pm.
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
    let result = async {
        let services = for_admin(&config, &db).await?;
        match cmd {
            AdminCommand::User(UserCommand::Create { name, email, password_stdin, confirmed }) => {
                let password = if password_stdin { Some(read_password()?) } else { None };
                let user = users::create_by_admin(&services, &name, &email, password, confirmed)
                    .await
                    .map_err(|e| anyhow!("user {name:?}: {}", e.describe()))?;
                eprintln!("created user {}", user.username);
            }
            AdminCommand::Key(KeyCommand::Create { user, key_name, permissions }) => {
                let owner = users::find(&services, &user).await.map_err(|_| anyhow!("no user {user:?}"))?;
                let request = KeyRequest {
                    name: Some(key_name),
                    permissions: (!permissions.is_empty()).then(|| permissions.iter().map(|p| split(p)).collect()),
                    revoke_at: None,
                };
                let created = keys::create(&services, KeyOwner::User(owner.id), &request, &admin_actor(owner.id))
                    .await
                    .map_err(|e| anyhow!("key for {user:?}: {}", e.describe()))?;
                if created.key.name != request.name.as_deref().unwrap_or_default() {
                    eprintln!("the name was taken: the key is named {}", created.key.name);
                }
                println!("{}", created.secret);
            }
            AdminCommand::Package(cmd) => package(&services, cmd).await?,
            AdminCommand::Org(OrgCommand::Create { name, owner, seats }) => {
                let user = users::find(&services, &owner).await.map_err(|_| anyhow!("no user {owner:?}"))?;
                let org = orgs::create(&services, &name, user.id, seats, &admin_actor(user.id))
                    .await
                    .map_err(|e| anyhow!("organization {name:?}: {}", e.describe()))?;
                eprintln!("created organization {} with {} as admin", org.name, user.username);
            }
        }
        Ok(())
    }
    .await;
    db.close().await;
    result
}

async fn package(services: &hexyard_service::Services, cmd: PackageCommand) -> anyhow::Result<()> {
    let package_name = |raw: &str| PackageName::parse_existing(raw).map_err(|e| anyhow!("package {raw:?}: {e}"));
    let version = |raw: &str| Version::parse(raw).map_err(|e| anyhow!("version {raw:?}: {e}"));
    let user = |raw: &str| UserRef::parse(raw).ok_or_else(|| anyhow!("{raw:?} is neither a username nor an email"));
    let failed = |e: hexyard_service::Error| anyhow!(e.describe());
    let done = match cmd {
        PackageCommand::Revert { name, version: v, repository } => {
            let (n, v) = (package_name(&name)?, version(&v)?);
            lifecycle::revert(services, repository.as_deref(), Acting::Operator, &n, &v).await.map_err(failed)?;
            format!("reverted {name} {v}")
        }
        PackageCommand::Retire { name, version: v, reason, message, repository } => {
            let (n, v) = (package_name(&name)?, version(&v)?);
            let retirement = Some((Some(reason.as_str()), message.as_deref()));
            lifecycle::set_retirement(services, repository.as_deref(), Acting::Operator, &n, &v, retirement)
                .await
                .map_err(failed)?;
            format!("retired {name} {v}")
        }
        PackageCommand::Unretire { name, version: v, repository } => {
            let (n, v) = (package_name(&name)?, version(&v)?);
            lifecycle::set_retirement(services, repository.as_deref(), Acting::Operator, &n, &v, None)
                .await
                .map_err(failed)?;
            format!("unretired {name} {v}")
        }
        PackageCommand::Owner(OwnerCommand::Add { package, user: who, level, transfer }) => {
            let (n, u) = (package_name(&package)?, user(&who)?);
            owners::set(services, None, Acting::Operator, &n, &u, Some(&level), transfer).await.map_err(failed)?;
            format!("{who} owns {package} ({})", if transfer { "alone" } else { level.as_str() })
        }
        PackageCommand::Owner(OwnerCommand::Remove { package, user: who }) => {
            let (n, u) = (package_name(&package)?, user(&who)?);
            owners::remove(services, None, Acting::Operator, &n, &u).await.map_err(failed)?;
            format!("{who} no longer owns {package}")
        }
    };
    eprintln!("{done}");
    Ok(())
}

/// An action of the operator's on behalf of a user.
fn admin_actor(user_id: i64) -> Actor {
    Actor { user_id: Some(user_id), user_agent: Some("hexyard admin".into()), ..Default::default() }
}

/// `DOMAIN[:RESOURCE]`.
fn split(text: &str) -> (String, Option<String>) {
    match text.split_once(':') {
        Some((d, r)) => (d.to_owned(), Some(r.to_owned())),
        None => (text.to_owned(), None),
    }
}

fn read_password() -> anyhow::Result<String> {
    let mut password = String::new();
    std::io::stdin().read_to_string(&mut password)?;
    Ok(password.trim_end_matches(['\n', '\r']).to_owned())
}

//! `hexyard admin`: accounts, keys and organizations, against the same database as the server
//! (also while it runs), through the same use cases as the API.

use std::io::Read;

use anyhow::anyhow;
use clap::Subcommand;
use hexyard_service::keys::{self, KeyOwner, KeyRequest};
use hexyard_service::{orgs, users};
use hexyard_storage::audit::Actor;

use crate::config::Config;
use crate::database::Database;
use crate::services::{describe, for_admin};

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
                    .map_err(|e| anyhow!("user {name:?}: {}", describe(&e)))?;
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
                    .map_err(|e| anyhow!("key for {user:?}: {}", describe(&e)))?;
                if created.key.name != request.name.as_deref().unwrap_or_default() {
                    eprintln!("the name was taken: the key is named {}", created.key.name);
                }
                println!("{}", created.secret);
            }
            AdminCommand::Org(OrgCommand::Create { name, owner, seats }) => {
                let user = users::find(&services, &owner).await.map_err(|_| anyhow!("no user {owner:?}"))?;
                let org = orgs::create(&services, &name, user.id, seats, &admin_actor(user.id))
                    .await
                    .map_err(|e| anyhow!("organization {name:?}: {}", describe(&e)))?;
                eprintln!("created organization {} with {} as admin", org.name, user.username);
            }
        }
        Ok(())
    }
    .await;
    db.close().await;
    result
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

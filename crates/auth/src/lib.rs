//! Who is calling and what they may do, with no I/O: password hashing, API key secrets (shown
//! once, kept as an HMAC under the server secret), the `Authorization` header forms clients send,
//! and hex.pm's permission model.

mod credentials;
mod keys;
mod password;
mod permission;
pub mod tokens;

pub use credentials::Credentials;
pub use keys::{KeySecret, ServerSecret};
pub use password::{hash_password, verify_password};
pub use permission::{Domain, Grants, Permission, PermissionError};

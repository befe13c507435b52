//! The one error type of the use cases. The API maps it once to Hex's `{status, message,
//! errors}` and the web pages once to an error page; neither decides what went wrong.

use serde_json::{Map, Value};

/// Why a use case did not happen.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No such thing, or the caller may not know it exists.
    #[error("not found")]
    NotFound,
    /// The request itself is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// No credentials where they are needed (answered with a Basic challenge).
    #[error("missing authentication information")]
    MissingCredentials,
    /// Credentials that are wrong, or a key without the grant (hex.pm answers 401 to both).
    #[error("{0}")]
    Unauthorized(String),
    /// An OAuth token's write needs a TOTP code: `error` goes into the Bearer challenge.
    #[error("{message}")]
    TotpChallenge { error: &'static str, message: String },
    /// Authenticated, and not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// Fields that break the rules: field → message (or a nested map, as for requirements).
    #[error("validation failed: {0:?}")]
    Invalid(Map<String, Value>),
    /// A body over the limit.
    #[error("payload too large")]
    TooLarge,
    #[error("{0}")]
    TooManyRequests(String),
    #[error("storage")]
    Storage(#[from] hexyard_storage::StorageError),
    /// Anything else that is the server's fault.
    #[error("{context}")]
    Internal {
        context: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// Result of the use cases.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A 422 on one field.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        let mut errors = Map::new();
        errors.insert(field.to_owned(), Value::String(message.into()));
        Error::Invalid(errors)
    }

    /// A failure of the server itself, with what it was doing.
    pub fn internal(context: &'static str, source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Error::Internal { context, source: source.into() }
    }

    /// hex.pm answers a key without the needed grant with 401, not 403.
    pub fn not_authorized() -> Self {
        Error::Unauthorized("key not authorized for this action".into())
    }

    /// The 403 of an account that may not do this.
    pub fn account_not_authorized() -> Self {
        Error::Forbidden("account not authorized for this action".into())
    }

    /// Whether the server, not the caller, is at fault.
    pub fn is_internal(&self) -> bool {
        matches!(self, Error::Storage(_) | Error::Internal { .. })
    }

    /// Whether the database could not be reached (down, restarting, or every connection busy
    /// past the pool's timeout): a 503 to retry, not a fault of the request or a bug.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Error::Storage(e) if e.is_unavailable())
    }

    /// What a person reads of a refusal: `field message` for each invalid field, else the
    /// message. (Internal errors read as their chain: show them to operators only.)
    pub fn describe(&self) -> String {
        match self {
            Error::NotFound => "not found".to_owned(),
            Error::Invalid(fields) => fields
                .iter()
                .map(|(field, m)| format!("{field} {}", m.as_str().map_or_else(|| m.to_string(), str::to_owned)))
                .collect::<Vec<_>>()
                .join(", "),
            e => e.chain(),
        }
    }

    /// The error and every cause under it, `: `-separated, for logs.
    pub fn chain(&self) -> String {
        let mut text = self.to_string();
        let mut source = std::error::Error::source(self);
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        text
    }
}

impl From<hexyard_storage::SqlxError> for Error {
    fn from(e: hexyard_storage::SqlxError) -> Self {
        Error::Storage(e.into())
    }
}

impl From<tokio::task::JoinError> for Error {
    fn from(e: tokio::task::JoinError) -> Self {
        Error::internal("a blocking task failed", e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chain_names_every_cause() {
        let io = std::io::Error::other("disk full");
        let e = Error::internal("writing a tarball", io);
        assert_eq!(e.chain(), "writing a tarball: disk full");
        assert!(e.is_internal());
        assert!(!Error::NotFound.is_internal());
        let mut fields = Map::new();
        fields.insert("name".into(), Value::String("has already been taken".into()));
        fields.insert("requirements".into(), serde_json::json!({"plug": "does not exist"}));
        assert_eq!(
            Error::Invalid(fields).describe(),
            r#"name has already been taken, requirements {"plug":"does not exist"}"#
        );
    }
}

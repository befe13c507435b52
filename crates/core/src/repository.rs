use std::fmt;
use std::str::FromStr;

/// The name hex.pm's public repository goes by; clients hard-code it.
pub const HEXPM: &str = "hexpm";

const MAX_REPOSITORY_NAME_LEN: usize = 64;

/// The name of a repository: the instance's public one, an organization's, or `hexpm`.
/// Follows hex.pm's rule for organization names: `^[a-z0-9_]+$`, at least 3 characters.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RepositoryName(String);

/// Why a string is not a repository name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RepositoryNameError {
    #[error("should be at least 3 character(s)")]
    TooShort,
    #[error("should be at most {MAX_REPOSITORY_NAME_LEN} character(s)")]
    TooLong,
    #[error("has invalid format")]
    InvalidFormat,
}

impl RepositoryName {
    pub fn parse(raw: &str) -> Result<Self, RepositoryNameError> {
        if raw.len() < 3 {
            return Err(RepositoryNameError::TooShort);
        }
        if raw.len() > MAX_REPOSITORY_NAME_LEN {
            return Err(RepositoryNameError::TooLong);
        }
        if !raw.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
            return Err(RepositoryNameError::InvalidFormat);
        }
        Ok(Self(raw.to_owned()))
    }

    /// hex.pm's public repository, which dependencies may name but this server never hosts.
    pub fn hexpm() -> Self {
        Self(HEXPM.to_owned())
    }

    /// Whether this is hex.pm's public repository.
    pub fn is_hexpm(&self) -> bool {
        self.0 == HEXPM
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for RepositoryName {
    type Err = RepositoryNameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for RepositoryName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for RepositoryName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RepositoryName({:?})", self.0)
    }
}

impl AsRef<str> for RepositoryName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

crate::string_serde!(RepositoryName);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn organization_name_rule() {
        for ok in ["acme", "hexyard", "a_1", "123", "hexpm"] {
            assert!(RepositoryName::parse(ok).is_ok(), "{ok}");
        }
        assert_eq!(RepositoryName::parse("ab"), Err(RepositoryNameError::TooShort));
        for bad in ["Acme", "ac-me", "ac me", "acmé", "../x"] {
            assert_eq!(RepositoryName::parse(bad), Err(RepositoryNameError::InvalidFormat), "{bad}");
        }
        assert!(RepositoryName::parse("hexpm").unwrap().is_hexpm());
        assert!(!RepositoryName::parse("acme").unwrap().is_hexpm());
    }
}

//! Roles in an organization and levels of package ownership.

use std::fmt;
use std::str::FromStr;

/// A member's role in an organization, ordered: `Read < Write < Admin`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Fetch the organization's packages.
    Read,
    /// Publish and manage its packages.
    Write,
    /// Manage members, seats and keys.
    Admin,
}

/// The role given is none of hex.pm's three.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be admin, write or read")]
pub struct RoleError;

impl Role {
    pub const ALL: [Role; 3] = [Role::Admin, Role::Write, Role::Read];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Read => "read",
            Role::Write => "write",
            Role::Admin => "admin",
        }
    }
}

impl FromStr for Role {
    type Err = RoleError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|r| r.as_str() == s).ok_or(RoleError)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a user owns a package, ordered: `Maintainer < Full`. Full owners also manage owners.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OwnerLevel {
    Maintainer,
    Full,
}

/// The level given is neither `full` nor `maintainer`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be full or maintainer")]
pub struct OwnerLevelError;

impl OwnerLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            OwnerLevel::Maintainer => "maintainer",
            OwnerLevel::Full => "full",
        }
    }
}

impl FromStr for OwnerLevel {
    type Err = OwnerLevelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "maintainer" => Ok(OwnerLevel::Maintainer),
            "full" => Ok(OwnerLevel::Full),
            _ => Err(OwnerLevelError),
        }
    }
}

impl fmt::Display for OwnerLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_order_and_parse() {
        assert!(Role::Read < Role::Write && Role::Write < Role::Admin);
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert_eq!("owner".parse::<Role>(), Err(RoleError));
        assert_eq!("Admin".parse::<Role>(), Err(RoleError));
    }

    #[test]
    fn owner_levels_order_and_parse() {
        assert!(OwnerLevel::Maintainer < OwnerLevel::Full);
        assert_eq!("full".parse::<OwnerLevel>(), Ok(OwnerLevel::Full));
        assert_eq!("maintainer".parse::<OwnerLevel>(), Ok(OwnerLevel::Maintainer));
        assert!("admin".parse::<OwnerLevel>().is_err());
    }
}

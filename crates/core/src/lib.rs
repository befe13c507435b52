//! Domain newtypes of hexyard. Each type can only be built by parsing, so a value of the type is
//! proof that the rules of hex.pm hold for it ("parse, don't validate"). No I/O lives here.

mod account;
mod package_name;
mod repository;
mod requirement;
mod retirement;
mod role;
pub mod text;
mod version;

pub use account::{Email, EmailError, KeyName, KeyNameError, MAX_KEY_NAME_LEN, UserRef, Username, UsernameError};
pub use package_name::{PackageName, PackageNameError, parse_release};
pub use repository::{HEXPM, RepositoryName, RepositoryNameError};
pub use requirement::{Requirement, RequirementError};
pub use retirement::{RetirementReason, RetirementReasonError};
pub use role::{OwnerLevel, OwnerLevelError, Role, RoleError};
pub use version::{Identifier, Version, VersionError};

/// Implements `Serialize` as a string and `Deserialize` by parsing, for the string newtypes.
macro_rules! string_serde {
    ($ty:ty) => {
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                raw.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}
pub(crate) use string_serde;

//! The Hex registry, version 2: the signed, gzipped protobuf resources a repository serves
//! (`/names`, `/versions`, `/packages/NAME`, and organizations' policies).
//!
//! - [`proto`]: the prost types generated from the project's `proto/` files;
//! - [`build`]: resources from plain Rust structs, with the field rules real clients need;
//! - [`keys`]: RSA signing and verifying keys, PEM in and out, key generation;
//! - [`signed`]: sign + gzip, and the reverse: gunzip, verify, decode, check the origin.

pub mod build;
pub mod keys;
pub mod signed;

/// Types generated from `proto/*.proto`.
pub mod proto {
    #![allow(missing_docs, clippy::all, missing_debug_implementations)]
    pub mod signed {
        include!(concat!(env!("OUT_DIR"), "/signed.rs"));
    }
    pub mod names {
        include!(concat!(env!("OUT_DIR"), "/names.rs"));
    }
    pub mod versions {
        include!(concat!(env!("OUT_DIR"), "/versions.rs"));
    }
    pub mod package {
        include!(concat!(env!("OUT_DIR"), "/package.rs"));
    }
    pub mod policy {
        include!(concat!(env!("OUT_DIR"), "/policy.rs"));
    }
}

pub use build::{Dependency, NamesEntry, PackageEntry, Release, Retirement, VersionsEntry};
pub use keys::{KeyError, SigningKey, VerifyingKey};
pub use signed::{RegistryError, decode_names, decode_package, decode_versions, sign_and_gzip};

//! Validating path extractors: a malformed name is a 404 before any query runs. They read the
//! segments by name, so they work under `/api/repos/{repository}/…` as well.

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use futures_util::future::{Ready, ready};
use hexyard_core::{PackageName, Version};

use crate::error::ApiError;

/// `{name}`: a package name.
#[derive(Debug, Clone)]
pub struct PackagePath {
    pub name: PackageName,
}

/// `{name}` and `{version}`.
#[derive(Debug, Clone)]
pub struct ReleasePath {
    pub name: PackageName,
    pub version: Version,
}

fn package_name(req: &HttpRequest) -> Result<PackageName, ApiError> {
    let raw = req.match_info().get("name").unwrap_or_default();
    PackageName::parse_existing(raw).map_err(|_| ApiError::not_found())
}

impl FromRequest for PackagePath {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(package_name(req).map(|name| PackagePath { name }))
    }
}

impl FromRequest for ReleasePath {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(package_name(req).and_then(|name| {
            let raw = req.match_info().get("version").unwrap_or_default();
            // hex.pm answers 400 here, not 404
            let version = Version::parse(raw).map_err(|_| ApiError::bad_request(format!("invalid version: {raw}")))?;
            Ok(ReleasePath { name, version })
        }))
    }
}

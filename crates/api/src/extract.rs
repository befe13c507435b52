//! Validating path extractors: a malformed name is a 404 before any query runs. They read the
//! segments by name, so they work under `/api/repos/{repository}/…` as well.

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use futures_util::future::{Ready, ready};
use hexyard_core::{KeyName, PackageName, RepositoryName, UserRef, Version};

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

/// `{repository}` of `/api/repos/{repository}/…`, when the path has one.
#[derive(Debug, Clone)]
pub struct RepositoryPath(pub Option<RepositoryName>);

impl RepositoryPath {
    pub fn name(&self) -> Option<&str> {
        self.0.as_ref().map(RepositoryName::as_str)
    }
}

/// `{name}` and `{username}` of `/api/packages/{name}/owners/{username}`.
#[derive(Debug, Clone)]
pub struct OwnerPath {
    pub name: PackageName,
    pub owner: UserRef,
}

/// `{name}` of `/api/users/{name}`: a username or an email address.
#[derive(Debug, Clone)]
pub struct UserPath(pub UserRef);

/// `{name}` of `/api/orgs/{name}` and `/api/repos/{name}`: an organization's (or repository's) name.
#[derive(Debug, Clone)]
pub struct OrgPath(pub RepositoryName);

/// `{name}` and `{username}` of `/api/orgs/{name}/members/{username}`.
#[derive(Debug, Clone)]
pub struct MemberPath {
    pub org: RepositoryName,
    pub user: UserRef,
}

/// `{name}` of `/api/keys/{name}`, or `{name}` and `{key}` of `/api/orgs/{name}/keys/{key}`.
#[derive(Debug, Clone)]
pub struct KeyPath {
    pub org: Option<RepositoryName>,
    pub key: KeyName,
}

fn segment<'a>(req: &'a HttpRequest, name: &str) -> &'a str {
    req.match_info().get(name).unwrap_or_default()
}

fn package_name(req: &HttpRequest) -> Result<PackageName, ApiError> {
    PackageName::parse_existing(segment(req, "name")).map_err(|_| ApiError::not_found())
}

fn repository(req: &HttpRequest, segment_name: &str) -> Result<RepositoryName, ApiError> {
    RepositoryName::parse(segment(req, segment_name)).map_err(|_| ApiError::not_found())
}

fn user(req: &HttpRequest, segment_name: &str) -> Result<UserRef, ApiError> {
    UserRef::parse(segment(req, segment_name)).ok_or_else(ApiError::not_found)
}

/// A key name as it must be, untrimmed: a path with surrounding spaces names no key.
fn key_name(req: &HttpRequest, segment_name: &str) -> Result<KeyName, ApiError> {
    let raw = segment(req, segment_name);
    KeyName::parse(raw).ok().filter(|k| k.as_str() == raw).ok_or_else(ApiError::not_found)
}

macro_rules! extractor {
    ($ty:ty, |$req:ident| $body:expr) => {
        impl FromRequest for $ty {
            type Error = ApiError;
            type Future = Ready<Result<Self, ApiError>>;

            fn from_request($req: &HttpRequest, _: &mut Payload) -> Self::Future {
                let extract = || -> Result<Self, ApiError> { $body };
                ready(extract())
            }
        }
    };
}

extractor!(PackagePath, |req| package_name(req).map(|name| PackagePath { name }));
extractor!(ReleasePath, |req| package_name(req).and_then(|name| {
    let raw = segment(req, "version");
    // hex.pm answers 400 here, not 404
    let version = Version::parse(raw).map_err(|_| ApiError::bad_request(format!("invalid version: {raw}")))?;
    Ok(ReleasePath { name, version })
}));
extractor!(RepositoryPath, |req| match req.match_info().get("repository") {
    None => Ok(RepositoryPath(None)),
    Some(_) => repository(req, "repository").map(|r| RepositoryPath(Some(r))),
});
extractor!(OwnerPath, |req| Ok(OwnerPath { name: package_name(req)?, owner: user(req, "username")? }));
extractor!(UserPath, |req| user(req, "name").map(UserPath));
extractor!(OrgPath, |req| repository(req, "name").map(OrgPath));
extractor!(MemberPath, |req| Ok(MemberPath { org: repository(req, "name")?, user: user(req, "username")? }));
extractor!(KeyPath, |req| match req.match_info().get("key") {
    Some(_) => Ok(KeyPath { org: Some(repository(req, "name")?), key: key_name(req, "key")? }),
    None => Ok(KeyPath { org: None, key: key_name(req, "name")? }),
});

/// The middleware that holds paths and queries to the text rule (`hexyard_core::text`, for
/// one-line text): a control character (line breaks too) anywhere in the decoded path or in a
/// query parameter is a 422 naming
/// `path` or the parameter, before any route (the API's or the pages') sees it.
pub async fn reject_control_characters(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody + 'static>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    if let Some((field, message)) = control_character_in(req.path(), req.query_string()) {
        return Err(ApiError::field(&field, message).into());
    }
    next.call(req).await
}

/// The middleware that merges repeated slashes in the path (`//repo//names` is `/repo/names`)
/// and keeps a trailing one, as actix's `NormalizePath` does with `MergeOnly`. That one runs a
/// regex over every path; this one scans for `//` and touches nothing when there is none, the
/// path of nearly every request.
pub async fn merge_slashes(
    mut req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody + 'static>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    if req.path().contains("//")
        && let Some(uri) = merged_slashes(req.uri())
    {
        req.match_info_mut().get_mut().update(&uri);
        req.head_mut().uri = uri;
    }
    next.call(req).await
}

/// The URI with each run of slashes in its path made one, and its query as it was.
fn merged_slashes(uri: &actix_web::http::Uri) -> Option<actix_web::http::Uri> {
    let mut path = String::with_capacity(uri.path().len());
    for c in uri.path().chars() {
        if !(c == '/' && path.ends_with('/')) {
            path.push(c);
        }
    }
    if let Some(query) = uri.query() {
        path = format!("{path}?{query}");
    }
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = Some(path.parse().ok()?);
    actix_web::http::Uri::from_parts(parts).ok()
}

fn control_character_in(path: &str, query: &str) -> Option<(String, String)> {
    use hexyard_core::text::{forbidden_in_line as forbidden_char, message};
    if let Some(c) = forbidden_char(&percent_decoded(path)) {
        return Some(("path".to_owned(), message(c)));
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
    pairs.into_iter().find_map(|(name, value)| {
        let c = forbidden_char(&name).or_else(|| forbidden_char(&value))?;
        let field = if forbidden_char(&name).is_some() { "query".to_owned() } else { name };
        Some((field, message(c)))
    })
}

/// `%XX` escapes decoded (others kept as they are), as text.
fn percent_decoded(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn control_characters_in_paths_and_queries_are_found() {
        use super::control_character_in as found;
        assert_eq!(found("/api/users/alice", "page=2&search=a%20b"), None);
        assert_eq!(found("/api/users/ali%00ce", "").map(|f| f.0).as_deref(), Some("path"));
        assert_eq!(found("/api/users/%0d%0a", "").map(|f| f.0).as_deref(), Some("path"));
        assert_eq!(found("/api/packages", "search=x%00").map(|f| f.0).as_deref(), Some("search"));
        assert_eq!(found("/login", "return_to=%2F%0D%0ASet-Cookie").map(|f| f.0).as_deref(), Some("return_to"));
        assert_eq!(found("/api/packages", "se%01arch=x").map(|f| f.0).as_deref(), Some("query"));
        // a lone % or a bad escape is text, not an error
        assert_eq!(found("/api/users/100%", "q=%zz"), None);
    }

    #[test]
    fn runs_of_slashes_are_merged_and_the_query_and_a_trailing_slash_kept() {
        let merged = |uri: &str| super::merged_slashes(&uri.parse().unwrap()).map(|u| u.to_string());
        assert_eq!(merged("//repo///names").as_deref(), Some("/repo/names"));
        assert_eq!(merged("/api//packages/?search=a//b&page=2").as_deref(), Some("/api/packages/?search=a//b&page=2"));
        assert_eq!(merged("http://host:4000//x//").as_deref(), Some("http://host:4000/x/"));
        assert_eq!(merged("/a//b?").as_deref(), Some("/a/b?"));
    }
}

//! hexyard's OpenAPI 3.1 document for `/api` and `/v1`, built from [`OPERATIONS`]: one line per
//! operation, next to the routes it describes. `specs/openapi.json` is its output, served at
//! `GET /api/openapi.json`; tests fail when a route registered in `routes` is missing here, when
//! an operation here is not served with that pattern, or when the file is stale
//! (`HEXYARD_WRITE_OPENAPI=1 cargo test -p hexyard-api openapi` writes it).

use serde_json::{Value, json};

/// Who may call an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// Anyone (private data only with credentials).
    Optional,
    /// A key, an OAuth token or (for reads) a session.
    Required,
}

/// What an operation takes as its body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    None,
    /// A JSON or ETF object (`application/json`, `application/vnd.hex+erlang`).
    Term,
    /// A package or docs tarball (`application/octet-stream`).
    Tarball,
    /// A form or JSON object (OAuth's endpoints).
    Form,
}

/// One operation: method, path under the server's root (patterns as registered), tag, summary,
/// who may call it, its body, its success status.
#[derive(Debug, Clone, Copy)]
pub struct Operation {
    pub method: &'static str,
    pub path: &'static str,
    pub tag: &'static str,
    pub summary: &'static str,
    pub auth: Auth,
    pub body: Body,
    pub status: u16,
}

const fn op(
    method: &'static str,
    path: &'static str,
    tag: &'static str,
    summary: &'static str,
    auth: Auth,
    body: Body,
    status: u16,
) -> Operation {
    Operation { method, path, tag, summary, auth, body, status }
}

use Auth::{Optional as Anyone, Required as Caller};
use Body::{Form, None as Nothing, Tarball, Term};

/// The operations that exist both unprefixed and under `/api/repos/{repository}`.
const PACKAGE_OPERATIONS: &[Operation] = &[
    op(
        "post",
        "/publish",
        "releases",
        "Publish a release (the tarball as the body; ?replace=true to replace)",
        Caller,
        Tarball,
        201,
    ),
    op("get", "/packages", "packages", "List or search packages (?search=, ?sort=, ?page=)", Anyone, Nothing, 200),
    op(
        "get",
        "/packages/{name}",
        "packages",
        "A package with its releases, retirements and downloads",
        Anyone,
        Nothing,
        200,
    ),
    op("get", "/packages/{name}/audit-logs", "audit", "A package's audit log (owners)", Caller, Nothing, 200),
    op("get", "/packages/{name}/owners", "owners", "A package's owners", Anyone, Nothing, 200),
    op("get", "/packages/{name}/owners/{username}", "owners", "One owner of a package", Anyone, Nothing, 200),
    op(
        "put",
        "/packages/{name}/owners/{username}",
        "owners",
        "Add an owner or change their level (?transfer)",
        Caller,
        Term,
        204,
    ),
    op("delete", "/packages/{name}/owners/{username}", "owners", "Remove an owner", Caller, Nothing, 204),
    op("post", "/packages/{name}/releases", "releases", "Publish a release of this package", Caller, Tarball, 201),
    op("get", "/packages/{name}/releases/{version}", "releases", "A release", Anyone, Nothing, 200),
    op("delete", "/packages/{name}/releases/{version}", "releases", "Revert a release", Caller, Nothing, 204),
    op(
        "get",
        "/packages/{name}/releases/{version}/docs",
        "docs",
        "Redirect to the release's docs tarball",
        Anyone,
        Nothing,
        302,
    ),
    op(
        "post",
        "/packages/{name}/releases/{version}/docs",
        "docs",
        "Upload the release's docs tarball",
        Caller,
        Tarball,
        201,
    ),
    op("delete", "/packages/{name}/releases/{version}/docs", "docs", "Remove the release's docs", Caller, Nothing, 204),
    op(
        "post",
        "/packages/{name}/releases/{version}/retire",
        "releases",
        "Retire a release (reason, message)",
        Caller,
        Term,
        204,
    ),
    op("delete", "/packages/{name}/releases/{version}/retire", "releases", "Unretire a release", Caller, Nothing, 204),
];

/// The other operations of `/api` and those of `/v1`.
const OTHER_OPERATIONS: &[Operation] = &[
    op("get", "/api/openapi.json", "meta", "This document", Anyone, Nothing, 200),
    op("post", "/api/users", "users", "Register (a confirmation mail follows)", Anyone, Term, 201),
    op("get", "/api/users/me", "users", "The caller's account, organizations and packages", Caller, Nothing, 200),
    op("get", "/api/users/me/audit-logs", "audit", "The caller's audit log", Caller, Nothing, 200),
    op("get", "/api/users/{name}", "users", "A user (by username, or by a public email)", Anyone, Nothing, 200),
    op("post", "/api/users/{name}/reset", "users", "Mail a password-reset link", Anyone, Nothing, 204),
    op("get", "/api/keys", "keys", "The caller's API keys", Caller, Nothing, 200),
    op("post", "/api/keys", "keys", "Create an API key (its secret is shown once)", Caller, Term, 201),
    op("delete", "/api/keys", "keys", "Revoke every key of the caller", Caller, Nothing, 200),
    op("get", "/api/keys/{name}", "keys", "One of the caller's keys", Caller, Nothing, 200),
    op("delete", "/api/keys/{name}", "keys", "Revoke one of the caller's keys", Caller, Nothing, 200),
    op(
        "get",
        "/api/auth",
        "keys",
        "Whether the caller may act on a domain (?domain=, ?resource=)",
        Caller,
        Nothing,
        204,
    ),
    op("post", "/api/oauth/device_authorization", "oauth", "Start the device flow", Anyone, Form, 200),
    op(
        "post",
        "/api/oauth/token",
        "oauth",
        "Exchange a device code, refresh token or API key for a token",
        Anyone,
        Form,
        200,
    ),
    op("post", "/api/oauth/revoke", "oauth", "Revoke a token", Anyone, Form, 200),
    op("post", "/api/oauth/revoke_by_hash", "oauth", "Revoke a token by its hash", Caller, Form, 200),
    op(
        "get",
        "/api/oauth/revoke_by_hash",
        "oauth",
        "Revoke a token by its hash (as Gleam sends it)",
        Caller,
        Nothing,
        200,
    ),
    op("get", "/api/orgs", "orgs", "The caller's organizations", Caller, Nothing, 200),
    op("get", "/api/orgs/{name}", "orgs", "An organization (members)", Caller, Nothing, 200),
    op("post", "/api/orgs/{name}", "orgs", "Change an organization's billing seats (admins)", Caller, Term, 200),
    op("get", "/api/orgs/{name}/audit-logs", "audit", "An organization's audit log", Caller, Nothing, 200),
    op("get", "/api/orgs/{name}/keys", "orgs", "An organization's keys", Caller, Nothing, 200),
    op("post", "/api/orgs/{name}/keys", "orgs", "Create an organization key", Caller, Term, 201),
    op("delete", "/api/orgs/{name}/keys/{key}", "orgs", "Revoke an organization key", Caller, Nothing, 200),
    op("get", "/api/orgs/{name}/members", "orgs", "An organization's members", Caller, Nothing, 200),
    op("post", "/api/orgs/{name}/members", "orgs", "Add a member with a role", Caller, Term, 200),
    op("get", "/api/orgs/{name}/members/{username}", "orgs", "One member", Caller, Nothing, 200),
    op("post", "/api/orgs/{name}/members/{username}", "orgs", "Change a member's role", Caller, Term, 200),
    op("delete", "/api/orgs/{name}/members/{username}", "orgs", "Remove a member", Caller, Nothing, 204),
    op("get", "/api/repos", "repos", "The repositories the caller may read", Anyone, Nothing, 200),
    op("get", "/api/repos/{name}", "repos", "A repository", Anyone, Nothing, 200),
    op("get", "/v1/package", "v1", "A package (?name=, ?repository=)", Anyone, Nothing, 200),
    op("get", "/v1/releases", "v1", "A package's releases (?name=)", Anyone, Nothing, 200),
    op("get", "/v1/release", "v1", "One release (?name=, ?version=)", Anyone, Nothing, 200),
    op("get", "/v1/search", "v1", "Search (?q=, ?sort=, ?page=)", Anyone, Nothing, 200),
    op("get", "/v1/meta", "v1", "The server: version, repositories, counts", Anyone, Nothing, 200),
];

/// An operation at its full path.
#[derive(Debug, Clone)]
pub struct Documented {
    pub operation: Operation,
    pub path: String,
}

/// Every operation, with full paths (the package operations under `/api` and under
/// `/api/repos/{repository}`).
pub fn operations() -> Vec<Documented> {
    let mut all = Vec::new();
    for prefix in ["/api", "/api/repos/{repository}"] {
        for o in PACKAGE_OPERATIONS {
            all.push(Documented { operation: *o, path: format!("{prefix}{}", o.path) });
        }
    }
    all.extend(OTHER_OPERATIONS.iter().map(|o| Documented { operation: *o, path: o.path.to_owned() }));
    all
}

/// The document, as served and as kept in `specs/openapi.json`.
pub fn document() -> Value {
    let mut paths = serde_json::Map::new();
    for d in operations() {
        let entry = paths.entry(d.path.clone()).or_insert_with(|| json!({}));
        entry[d.operation.method] = operation(&d.operation, &d.path);
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "hexyard",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The Hex API of a hexyard server (what mix, rebar3 and Gleam call) and its read-only \
                convenience API /v1. Answers are JSON, or ETF with Accept: application/vnd.hex+erlang; errors are \
                {status, message, errors}. The signed repository (/repo) and the hex.pm mirror (/mirror) follow the \
                Hex repository specification and are not described here."
        },
        "servers": [{ "url": "/" }],
        "security": [{}, { "key": [] }],
        "components": {
            "securitySchemes": {
                "key": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "authorization",
                    "description": "An API key's secret, or `Bearer TOKEN` for an OAuth token."
                }
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["status", "message"],
                    "properties": {
                        "status": { "type": "integer" },
                        "message": { "type": "string" },
                        "errors": { "type": "object", "additionalProperties": true }
                    }
                }
            },
            "responses": {
                "Error": {
                    "description": "The request was refused: {status, message, errors}",
                    "content": {
                        "application/json": { "schema": { "$ref": "#/components/schemas/Error" } },
                        "application/vnd.hex+erlang": { "schema": { "$ref": "#/components/schemas/Error" } }
                    }
                }
            }
        },
        "paths": paths,
    })
}

fn operation(o: &Operation, path: &str) -> Value {
    let parameters: Vec<Value> = path
        .split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
        .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }))
        .collect();
    let success = match o.status {
        204 => json!({ "description": "Done" }),
        302 => json!({ "description": "Found: the location header says where" }),
        _ => json!({
            "description": "OK",
            "content": {
                "application/json": { "schema": { "type": "object" } },
                "application/vnd.hex+erlang": { "schema": { "type": "object" } }
            }
        }),
    };
    let mut responses = serde_json::Map::new();
    responses.insert(o.status.to_string(), success);
    responses.insert("default".into(), json!({ "$ref": "#/components/responses/Error" }));
    let mut value = json!({
        "tags": [o.tag],
        "summary": o.summary,
        "operationId": format!("{}{}", o.method, path.replace(['/', '{', '}', '.', '-'], "_")),
        "parameters": parameters,
        "responses": responses,
    });
    if o.auth == Auth::Required {
        value["security"] = json!([{ "key": [] }]);
    }
    let body = match o.body {
        Body::None => None,
        Body::Term => Some(json!({
            "application/json": { "schema": { "type": "object" } },
            "application/vnd.hex+erlang": { "schema": { "type": "object" } }
        })),
        Body::Tarball => {
            Some(json!({ "application/octet-stream": { "schema": { "type": "string", "format": "binary" } } }))
        }
        Body::Form => Some(json!({
            "application/x-www-form-urlencoded": { "schema": { "type": "object" } },
            "application/json": { "schema": { "type": "object" } }
        })),
    };
    if let Some(content) = body {
        value["requestBody"] = json!({ "required": true, "content": content });
    }
    value
}

/// The document as served: rendered once.
pub fn text() -> &'static str {
    static TEXT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TEXT.get_or_init(|| {
        let mut text = serde_json::to_string_pretty(&document()).expect("a JSON value renders");
        text.push('\n');
        text
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    /// The (method, path) pairs `routes` registers under `/api` and `/v1`, read from its source:
    /// each `resource("…")` with the methods of the routes after it, under its function's scope.
    fn registered() -> BTreeSet<(String, String)> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/routes");
        let routes = std::fs::read_to_string(dir.join("mod.rs")).unwrap();
        let v1 = std::fs::read_to_string(dir.join("v1.rs")).unwrap();
        let body = |text: &str, function: &str| -> String {
            let start = text.find(&format!("fn {function}(")).unwrap_or_else(|| panic!("fn {function}"));
            let rest = &text[start..];
            rest[..rest.find("\n}\n").unwrap()].to_owned()
        };
        let mut found = BTreeSet::new();
        let mut add = |text: &str, prefixes: &[&str]| {
            for chunk in text.split("resource(\"").skip(1) {
                let path = &chunk[..chunk.find('"').unwrap()];
                if path.starts_with("/repos/{repository}") && !chunk.contains(".route(") {
                    continue;
                }
                for method in ["get", "post", "put", "delete"] {
                    if chunk.contains(&format!("{method}().to(")) {
                        for prefix in prefixes {
                            found.insert((method.to_owned(), format!("{prefix}{path}")));
                        }
                    }
                }
            }
        };
        add(&body(&routes, "api"), &["/api"]);
        add(&body(&routes, "package_routes"), &["/api", "/api/repos/{repository}"]);
        add(&body(&v1, "configure"), &["/v1"]);
        found
    }

    #[test]
    fn every_registered_route_is_documented_and_nothing_else() {
        let registered = registered();
        assert!(registered.len() > 60, "the routes were read: {registered:?}");
        let documented: BTreeSet<(String, String)> =
            super::operations().iter().map(|d| (d.operation.method.to_owned(), d.path.clone())).collect();
        let missing: Vec<_> = registered.difference(&documented).collect();
        assert!(missing.is_empty(), "registered but not in the OpenAPI document: {missing:?}");
        let extra: Vec<_> = documented.difference(&registered).collect();
        assert!(extra.is_empty(), "documented but not registered: {extra:?}");
    }

    #[test]
    fn specs_openapi_json_is_the_current_document() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../specs/openapi.json");
        if std::env::var_os("HEXYARD_WRITE_OPENAPI").is_some() {
            std::fs::write(&path, super::text()).unwrap();
        }
        let kept = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            kept == super::text(),
            "specs/openapi.json is stale: HEXYARD_WRITE_OPENAPI=1 cargo test -p hexyard-api openapi"
        );
    }

    #[test]
    fn the_document_is_openapi_3_1_with_unique_operation_ids() {
        let doc = super::document();
        assert_eq!(doc["openapi"], "3.1.0");
        let ids: Vec<String> = super::operations()
            .iter()
            .map(|d| doc["paths"][&d.path][d.operation.method]["operationId"].as_str().unwrap().to_owned())
            .collect();
        let unique: BTreeSet<&String> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len());
        // every {parameter} of a path is declared
        for d in super::operations() {
            let declared = doc["paths"][&d.path][d.operation.method]["parameters"].as_array().unwrap().len();
            assert_eq!(declared, d.path.matches('{').count(), "{}", d.path);
        }
    }
}

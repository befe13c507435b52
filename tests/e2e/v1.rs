//! The convenience API `/v1` (issue 11): its envelope, its shapes (compared whole, with times,
//! request ids and this server's address put aside), its errors, and private packages.

use serde_json::{Value, json};

use crate::support::*;

/// The answer with what changes from run to run replaced: times by "TIME", the request id by
/// "ID", the server's address by "http://registry".
fn snapshot(server: &Server, resp: &Response) -> (u16, Value) {
    fn normalize(value: &mut Value, url: &str) {
        match value {
            Value::String(s) => {
                if time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).is_ok() {
                    *s = "TIME".into();
                } else {
                    *s = s.replace(url, "http://registry");
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| normalize(v, url)),
            Value::Object(map) => map.values_mut().for_each(|v| normalize(v, url)),
            _ => {}
        }
    }
    let mut body = resp.json();
    assert_eq!(body["meta"]["request_id"].as_str(), resp.header("x-request-id"), "the request's id");
    body["meta"]["request_id"] = json!("ID");
    normalize(&mut body, &server.url);
    (resp.status, body)
}

fn v1(server: &Server, path: &str, key: Option<&str>) -> (u16, Value) {
    let headers: Vec<(&str, &str)> = key.map(|k| ("authorization", k)).into_iter().collect();
    snapshot(server, &get(&format!("{}/v1{path}", server.url), &headers))
}

fn ok(data: Value, message: &str) -> (u16, Value) {
    (
        200,
        json!({"data": data, "meta": {"timestamp": "TIME", "request_id": "ID"}, "status": "ok", "message": message, "success": true}),
    )
}

fn failed(status: u16, message: &str) -> (u16, Value) {
    (
        status,
        json!({"data": null, "meta": {"timestamp": "TIME", "request_id": "ID"}, "status": "error", "message": message, "success": false}),
    )
}

#[test]
fn the_convenience_api_answers_in_its_documented_shapes() {
    let server = Server::start("hexyard");
    let ann = server.user_with_key("ann", &[]);
    for (name, version, deps) in
        [("plug", "1.0.0", &[][..]), ("plug", "1.1.0", &[]), ("plug_cowboy", "2.0.0", &[("plug", "~> 1.0", None)])]
    {
        assert_eq!(server.publish(&ann, &tarball(name, version, deps), false).status, 201);
    }
    assert_eq!(get(&format!("{}/repo/tarballs/plug-1.1.0.tar", server.url), &[]).status, 200);
    server.downloads_reach("/packages/plug", "all", 1);

    assert_eq!(
        v1(&server, "/meta", None),
        ok(
            json!({
                "note": "Live registry data of this hexyard server. /v1/package = metadata (description, licenses, links, owners, downloads, recent releases); /v1/releases = full version history; /v1/release = a single release's dependencies, Elixir constraint and build tools; /v1/search = search the registry.",
                "source": "hexyard — the package registry at http://registry",
                "endpoints": ["/v1/package", "/v1/releases", "/v1/release", "/v1/search", "/v1/meta"],
            }),
            "Meta retrieved"
        )
    );
    assert_eq!(
        v1(&server, "/package?name=plug", None),
        ok(
            json!({"package": {
                "name": "plug",
                "repository": "hexyard",
                "description": "The plug package",
                "licenses": ["MIT"],
                "links": {"GitHub": "https://example.com/plug"},
                "owners": [{"username": "ann", "url": "http://registry/api/users/ann"}],
                "html_url": "http://registry/packages/plug",
                "docs_html_url": null,
                "downloads": {"all": 1, "day": 0, "week": 0, "recent": 0},
                "latest_version": "1.1.0",
                "latest_stable_version": "1.1.0",
                "releases": [
                    {"version": "1.1.0", "has_docs": false, "inserted_at": "TIME"},
                    {"version": "1.0.0", "has_docs": false, "inserted_at": "TIME"},
                ],
                "inserted_at": "TIME",
                "updated_at": "TIME",
            }}),
            "Package retrieved"
        )
    );
    assert_eq!(
        v1(&server, "/releases?name=plug&limit=1", None),
        ok(
            json!({"package": "plug", "latest": "1.1.0", "total": 2, "count": 1,
                   "releases": [{"version": "1.1.0", "has_docs": false, "inserted_at": "TIME"}]}),
            "Releases retrieved"
        )
    );
    let (status, release) = v1(&server, "/release?name=plug_cowboy&version=2.0.0", None);
    let checksum = get(&server.api("/packages/plug_cowboy/releases/2.0.0"), &[]).json()["checksum"].clone();
    assert_eq!(
        (status, release),
        ok(
            json!({"release": {
                "package": "plug_cowboy",
                "version": "2.0.0",
                "app": "plug_cowboy",
                "elixir": null,
                "build_tools": ["rebar3"],
                "checksum": checksum,
                "has_docs": false,
                "downloads": 0,
                "retirement": null,
                "dependencies": [{"name": "plug", "app": "plug", "requirement": "~> 1.0", "optional": false}],
                "inserted_at": "TIME",
                "updated_at": "TIME",
            }}),
            "Release retrieved"
        )
    );
    assert_eq!(
        v1(&server, "/search?q=plug&limit=5", None),
        ok(
            json!({"query": "plug", "page": 1, "count": 2, "results": [
                {"name": "plug", "repository": "hexyard", "html_url": "http://registry/packages/plug",
                 "description": "The plug package", "downloads_all": 1, "latest_version": "1.1.0"},
                {"name": "plug_cowboy", "repository": "hexyard", "html_url": "http://registry/packages/plug_cowboy",
                 "description": "The plug_cowboy package", "downloads_all": 0, "latest_version": "2.0.0"},
            ]}),
            "Search results retrieved"
        )
    );

    // its own errors, in the same envelope
    for (path, expected) in [
        ("/package", failed(400, "name is required")),
        ("/package?name=", failed(400, "name is required")),
        ("/package?name=nope", failed(404, "not found")),
        ("/package?name=..%2Fetc", failed(404, "package ../etc not found")),
        ("/releases?name=plug&limit=0", failed(422, "limit must be a number from 1 to 500")),
        ("/releases?name=plug&limit=501", failed(422, "limit must be a number from 1 to 500")),
        ("/releases?name=plug&limit=ten", failed(422, "limit must be a number from 1 to 500")),
        ("/release?name=plug", failed(400, "version is required")),
        ("/release?name=plug&version=9.9.9", failed(404, "not found")),
        ("/release?name=plug&version=x", failed(404, "release plug x not found")),
        ("/search", failed(400, "q is required")),
        ("/search?q=plug&limit=101", failed(422, "limit must be a number from 1 to 100")),
        ("/search?q=plug&page=0", failed(422, "page must be a number from 1 to 100000")),
        (
            "/search?q=updated_after:soon",
            failed(422, "search updated_after: expected an ISO 8601 date and time, such as 2024-01-31T00:00:00Z"),
        ),
    ] {
        assert_eq!(v1(&server, path, None), expected, "{path}");
    }
}

#[test]
fn private_packages_are_for_those_who_may_read_them() {
    let server = Server::start("hexyard");
    let ann = server.user_with_key("ann", &[]);
    let bob = server.user_with_key("bob", &[]);
    server.admin(&["org", "create", "acme", "--owner", "ann"]);
    let published = server.publish_to("acme", &ann, &tarball("secret", "1.0.0", &[]));
    assert_eq!(published.status, 201);
    for path in [
        "/package?name=secret&repository=acme",
        "/releases?name=secret&repository=acme",
        "/release?name=secret&version=1.0.0&repository=acme",
    ] {
        assert_eq!(v1(&server, path, Some(&ann)).0, 200, "{path}");
        for outsider in [None, Some(bob.as_str())] {
            assert_eq!(v1(&server, path, outsider), failed(404, "not found"), "{path} {outsider:?}");
        }
    }
    let names = |key: Option<&str>| -> Vec<Value> {
        v1(&server, "/search?q=secret", key).1["data"]["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].clone())
            .collect()
    };
    assert_eq!(names(Some(&ann)), [json!("secret")]);
    assert!(names(None).is_empty() && names(Some(&bob)).is_empty());
}

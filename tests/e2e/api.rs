//! The HTTP API's shapes and behaviours that clients depend on.

use hexyard_term::{Term, etf};
use serde_json::json;

use crate::support::*;

const ETF: (&str, &str) = ("accept", "application/vnd.hex+erlang");

fn etf_body(resp: &Response) -> serde_json::Value {
    assert!(
        resp.header("content-type").unwrap_or_default().contains("application/vnd.hex+erlang"),
        "{:?}",
        resp.headers
    );
    hexyard_term::json::to_json(&etf::decode(&resp.body).unwrap()).unwrap()
}

#[test]
fn package_and_release_shapes_in_json_and_etf() {
    let server = Server::start("hexyard");
    let key = server.user_with_key("alice", &[]);
    for version in ["0.9.0", "1.0.0", "1.1.0-rc.1"] {
        assert_eq!(server.publish(&key, &tarball("plug", version, &[]), false).status, 201);
    }
    let package = get(&server.api("/packages/plug"), &[]);
    assert_eq!(package.status, 200);
    let json = package.json();
    assert_eq!(json["name"], "plug");
    assert_eq!(json["repository"], "hexyard");
    assert_eq!(json["latest_version"], "1.1.0-rc.1");
    assert_eq!(json["latest_stable_version"], "1.0.0");
    let versions: Vec<&str> =
        json["releases"].as_array().unwrap().iter().map(|r| r["version"].as_str().unwrap()).collect();
    assert_eq!(versions, ["1.1.0-rc.1", "1.0.0", "0.9.0"], "newest first");
    assert_eq!(json["configs"]["mix.exs"], "{:plug, \"~> 1.1.0-rc.1\", repo: \"hexyard\"}");
    assert_eq!(json["configs"]["rebar.config"], "{plug, \"1.1.0-rc.1\"}");
    assert_eq!(json["meta"]["licenses"], json!(["MIT"]));
    assert_eq!(json["owners"][0]["username"], "alice");
    assert_eq!(json["url"], format!("{}/api/packages/plug", server.url));
    assert_eq!(json["retirements"], json!({}));

    let etf_json = etf_body(&get(&server.api("/packages/plug"), &[ETF]));
    assert_eq!(etf_json, json, "the same data in ETF");

    let release = get(&server.api("/packages/plug/releases/1.0.0"), &[]).json();
    assert_eq!(release["version"], "1.0.0");
    assert!(release.get("retirement").is_some_and(|r| r.is_null()), "retirement present as null");
    assert_eq!(release["meta"]["app"], "plug");
    assert_eq!(release["meta"]["build_tools"], json!(["rebar3"]));
    assert_eq!(release["publisher"]["username"], "alice");
    assert_eq!(release["checksum"].as_str().unwrap().len(), 64);
    assert_eq!(get(&server.api("/packages/plug/releases/9.9.9"), &[]).status, 404);
    let bad = get(&server.api("/packages/plug/releases/not-a-version"), &[]);
    assert_eq!((bad.status, bad.json()["message"].as_str()), (400, Some("invalid version: not-a-version")));

    // mix hard-codes /api/repos/hexpm/…; the repository's own name works too; others do not exist
    assert_eq!(get(&server.api("/repos/hexpm/packages/plug"), &[]).json()["name"], "plug");
    assert_eq!(get(&server.api("/repos/hexyard/packages/plug"), &[]).status, 200);
    assert_eq!(get(&server.api("/repos/elsewhere/packages/plug"), &[]).status, 404);
    // a doubled slash, as mix sends with a trailing slash in HEX_API_URL
    assert_eq!(get(&format!("{}/api//packages/plug", server.url), &[]).status, 200);

    let list = get(&server.api("/packages?search=plu&sort=updated_at"), &[]).json();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(get(&server.api("/packages?search=nothing"), &[]).json(), json!([]));
    assert_eq!(get(&server.api("/packages?sort=sideways"), &[]).status, 422);
}

#[test]
fn conditional_requests_on_api_and_repository() {
    let server = Server::start("hexyard");
    let key = server.user_with_key("alice", &[]);
    assert_eq!(server.publish(&key, &tarball("cowboy", "2.9.0", &[]), false).status, 201);
    for url in [
        server.api("/packages/cowboy"),
        format!("{}/repo/packages/cowboy", server.url),
        format!("{}/repo/tarballs/cowboy-2.9.0.tar", server.url),
    ] {
        let first = get(&url, &[]);
        assert_eq!(first.status, 200, "{url}");
        let etag = first.header("etag").unwrap().to_owned();
        let again = get(&url, &[("if-none-match", &etag)]);
        assert_eq!(again.status, 304, "{url}");
        assert!(again.body.is_empty());
        assert_eq!(get(&url, &[("if-none-match", "\"stale\"")]).status, 200, "{url}");
    }
    let names = get(&format!("{}/repo/names", server.url), &[]);
    assert!(names.header("content-encoding").is_none(), "gzip bytes without Content-Encoding");
    assert_eq!(&names.body[..2], [0x1f, 0x8b]);
    let modified = names.header("last-modified").unwrap().to_owned();
    assert_eq!(get(&format!("{}/repo/names", server.url), &[("if-modified-since", &modified)]).status, 304);
    assert_eq!(get(&format!("{}/repo/packages/nothing", server.url), &[]).status, 404);
    assert_eq!(get(&format!("{}/repo/tarballs/cowboy-9.9.9.tar", server.url), &[]).status, 404);
}

#[test]
fn users_keys_and_auth() {
    let server = Server::start("hexyard");
    // registration over the API, as mix and rebar3_hex do it, in ETF
    let body = etf::encode(&Term::Map(vec![
        (Term::binary("username"), Term::binary("eve")),
        (Term::binary("email"), Term::binary("eve@example.com")),
        (Term::binary("password"), Term::binary("correct horse")),
    ]));
    let created =
        request("POST", &server.api("/users"), &[ETF, ("content-type", "application/vnd.hex+erlang")], Some(&body));
    assert_eq!(created.status, 201, "{}", created.text());
    assert_eq!(etf_body(&created)["username"], "eve");
    let taken = request("POST", &server.api("/users"), &[ETF], Some(&body));
    // an unconfirmed account may be registered again
    assert_eq!(taken.status, 201, "{}", taken.text());
    let invalid =
        request("POST", &server.api("/users"), &[("content-type", "application/json")], Some(br#"{"username":"x"}"#));
    assert_eq!(invalid.status, 422);
    let errors = invalid.json()["errors"].clone();
    assert!(
        errors["username"].is_string() && errors["email"].is_string() && errors["password"].is_string(),
        "{errors}"
    );

    // key creation with Basic auth, then use of the key
    let basic = "Basic ZXZlOmNvcnJlY3QgaG9yc2U="; // eve:correct horse
    let key_body = br#"{"name":"laptop","permissions":[{"domain":"api","resource":"read"}]}"#;
    let created = request(
        "POST",
        &server.api("/keys"),
        &[("authorization", basic), ("content-type", "application/json")],
        Some(key_body),
    );
    assert_eq!(created.status, 201, "{}", created.text());
    let secret = created.json()["secret"].as_str().unwrap().to_owned();
    let me = get(&server.api("/users/me"), &[("authorization", &secret)]);
    assert_eq!(me.status, 200);
    assert_eq!(me.json()["organizations"], json!([]));
    assert_eq!(me.json()["email"], "eve@example.com");
    let wrong = request("POST", &server.api("/keys"), &[("authorization", "Basic ZXZlOm5vcGU=")], Some(key_body));
    assert_eq!(
        (wrong.status, wrong.json()["message"].as_str()),
        (401, Some("invalid username and password combination"))
    );
    // a read key cannot make keys
    let denied = request("POST", &server.api("/keys"), &[("authorization", &secret)], Some(br#"{"name":"x"}"#));
    assert_eq!((denied.status, denied.json()["message"].as_str()), (401, Some("key not authorized for this action")));
    // a taken name gives the new key the first free NAME-N, as hex.pm does (issue 8, defect 3:
    // this answered 422 before, so a second `rebar3 hex user auth` on one host failed)
    let dup = request("POST", &server.api("/keys"), &[("authorization", basic)], Some(key_body));
    assert_eq!((dup.status, dup.json()["name"].as_str()), (201, Some("laptop-2")), "{}", dup.text());
    let third = request("POST", &server.api("/keys"), &[("authorization", basic)], Some(key_body));
    assert_eq!(third.json()["name"], "laptop-3");

    let keys = get(&server.api("/keys"), &[("authorization", &secret)]).json();
    assert_eq!(keys[0]["name"], "laptop");
    assert_eq!(keys[0]["authing_key"], true);
    assert!(keys[0].get("secret").is_none(), "the secret is shown once");
    assert!(keys[0]["inserted_at"].is_string());

    let auth = get(&server.api("/auth?domain=api&resource=read"), &[("authorization", &secret)]);
    assert_eq!(auth.json()["key"]["owner"]["type"], "user");
    assert_eq!(get(&server.api("/auth?domain=api&resource=write"), &[("authorization", &secret)]).status, 401);

    // delete all keys answers the authing key
    let all = request("DELETE", &server.api("/keys"), &[("authorization", basic), ETF], None);
    assert_eq!(all.status, 200);
    assert!(etf_body(&all).get("authing_key").is_some());
    let gone = get(&server.api("/users/me"), &[("authorization", &secret)]);
    assert_eq!((gone.status, gone.json()["message"].as_str()), (401, Some("invalid API key")));
    assert_eq!(get(&server.api("/users/eve"), &[]).json()["username"], "eve");
    assert_eq!(get(&server.api("/users/nobody"), &[]).status, 404);
}

#[test]
fn errors_follow_the_requested_media_type() {
    let server = Server::start("hexyard");
    let no_ua = get(&server.api("/packages"), &[("user-agent", "")]);
    assert_eq!((no_ua.status, no_ua.json()["message"].as_str()), (400, Some("User-Agent header is required")));
    let missing = get(&server.api("/packages/nothing"), &[ETF]);
    assert_eq!(missing.status, 404);
    assert_eq!(etf_body(&missing), json!({"status": 404, "message": "Page not found"}));
    let unauthorized = get(&server.api("/users/me"), &[]);
    assert_eq!(unauthorized.status, 401);
    assert_eq!(unauthorized.header("www-authenticate"), Some("Basic realm=hex"));
    assert_eq!(get(&format!("{}/health", server.url), &[]).status, 200);
    assert_eq!(get(&format!("{}/no/such/page", server.url), &[]).status, 404);
}

#[test]
fn audit_logs_of_the_user_and_of_a_package() {
    let server = Server::start("hexyard");
    let key = server.user_with_key("alice", &[]);
    assert_eq!(server.publish(&key, &tarball("logged", "1.0.0", &[]), false).status, 201);
    assert_eq!(server.publish(&key, &tarball("logged", "1.0.0", &[]), true).status, 200);
    let mine = get(&server.api("/users/me/audit-logs"), &[("authorization", &key)]);
    assert_eq!(mine.status, 200);
    let mine_json = mine.json();
    let actions: Vec<&str> = mine_json.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions[..2], ["release.publish", "release.publish"], "newest first");
    assert!(actions.contains(&"key.generate") && actions.contains(&"user.create"), "{actions:?}");
    let entry = &mine_json[0];
    assert_eq!(entry["params"]["replaced"], true);
    assert_eq!(entry["user_agent"], "hexyard-tests");
    assert!(entry.get("ip").is_none(), "addresses are not shown");

    let package = get(&server.api("/packages/logged/audit-logs"), &[("authorization", &key)]).json();
    assert_eq!(package.as_array().unwrap().len(), 2);
    assert_eq!(package[1]["params"]["version"], "1.0.0");
    assert_eq!(get(&server.api("/packages/logged/audit-logs"), &[]).status, 401);
    assert_eq!(get(&server.api("/packages/missing/audit-logs"), &[("authorization", &key)]).status, 404);
    assert_eq!(
        get(&server.api("/users/me/audit-logs?page=2"), &[("authorization", &key)]).json(),
        serde_json::json!([])
    );
}

#[test]
fn a_key_with_revoke_at_stops_working_then() {
    let server = Server::start("hexyard");
    let key = server.user_with_key("kim", &[]);
    let soon = (time::OffsetDateTime::now_utc() + time::Duration::seconds(2))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let body = json!({"name": "short-lived", "revoke_at": soon}).to_string();
    let created = request(
        "POST",
        &server.api("/keys"),
        &[("authorization", &key), ("content-type", "application/json")],
        Some(body.as_bytes()),
    );
    assert_eq!(created.status, 201, "{}", created.text());
    assert!(created.json()["revoke_at"].is_string());
    let secret = created.json()["secret"].as_str().unwrap().to_owned();
    assert_eq!(get(&server.api("/users/me"), &[("authorization", &secret)]).status, 200);
    std::thread::sleep(std::time::Duration::from_millis(2500));
    assert_eq!(get(&server.api("/users/me"), &[("authorization", &secret)]).status, 401);
    let past = json!({"name": "past", "revoke_at": "2001-01-01T00:00:00Z"}).to_string();
    let refused = request("POST", &server.api("/keys"), &[("authorization", &key)], Some(past.as_bytes()));
    assert_eq!(refused.status, 422);
}

#[test]
fn repositories_are_listed_with_their_keys() {
    let server = Server::start("hexyard");
    let repos = get(&server.api("/repos"), &[]).json();
    assert_eq!(repos.as_array().unwrap().len(), 1);
    assert_eq!(repos[0]["name"], "hexyard");
    assert_eq!(repos[0]["public_key"].as_str().unwrap().trim(), server.public_key().trim());
    assert!(repos[0]["fingerprint"].as_str().unwrap().starts_with("SHA256:"));
    assert_eq!(get(&server.api("/repos/hexyard"), &[]).json()["name"], "hexyard");
    assert_eq!(get(&server.api("/repos/hexpm"), &[]).json()["name"], "hexyard");
    assert_eq!(get(&server.api("/repos/nowhere"), &[]).status, 404);
}

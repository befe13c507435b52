//! Hostile text: control characters (NUL first: Postgres cannot store it) in every way text
//! comes in — JSON, ETF and form bodies, paths, queries, tarball metadata — are a 422 naming the
//! field, never a 5xx and never a dropped connection; redirect targets stay same-site paths;
//! signing out needs the CSRF token; private emails stay private.

use crate::oauth::{Browser, hidden, user_with_password};
use crate::support::*;

/// How a case sends its text.
enum Via {
    Json(serde_json::Value),
    Etf(serde_json::Value),
    Form(&'static [(&'static str, &'static str)]),
    Nothing,
}

struct Case {
    method: &'static str,
    path: String,
    via: Via,
    /// The field the 422 names (`path` for the path, a parameter's name for a query).
    field: &'static str,
}

fn case(method: &'static str, path: impl Into<String>, via: Via, field: &'static str) -> Case {
    Case { method, path: path.into(), via, field }
}

fn etf(value: &serde_json::Value) -> Vec<u8> {
    hexyard_term::etf::encode(&hexyard_term::json::from_json(value))
}

fn form(fields: &[(&str, &str)]) -> Vec<u8> {
    serde_urlencoded::to_string(fields).unwrap().into_bytes()
}

#[test]
fn control_characters_are_refused_with_422_everywhere_text_comes_in() {
    use serde_json::json;
    let server = Server::start("hexyard");
    let key = server.user_with_key("alice", &[]);
    server.admin(&["org", "create", "acme", "--owner", "alice"]);
    assert_eq!(server.publish(&key, &tarball("held", "1.0.0", &[]), false).status, 201);

    let nul = "\u{0}";
    let mut cases = Vec::new();
    // bodies, each in JSON and in ETF (what mix and rebar3 send)
    let bodies: Vec<(&str, String, serde_json::Value, &str)> = vec![
        (
            "POST",
            "/api/users".into(),
            json!({"username": format!("eve{nul}"), "email": "eve@example.com", "password": "hunter2hunter2"}),
            "username",
        ),
        (
            "POST",
            "/api/users".into(),
            json!({"username": "eve", "email": format!("eve{nul}@example.com"), "password": "hunter2hunter2"}),
            "email",
        ),
        (
            "POST",
            "/api/users".into(),
            json!({"username": "eve", "email": "eve@example.com", "password": format!("hunter2{nul}")}),
            "password",
        ),
        (
            "POST",
            "/api/keys".into(),
            json!({"name": format!("laptop{nul}"), "permissions": [{"domain": "api"}]}),
            "name",
        ),
        (
            "POST",
            "/api/keys".into(),
            json!({"name": "laptop", "permissions": [{"domain": "api", "resource": "\u{1b}[31m"}]}),
            "permissions",
        ),
        (
            "POST",
            "/api/orgs/acme/keys".into(),
            json!({"name": format!("ci{nul}"), "permissions": [{"domain": "repository", "resource": "acme"}]}),
            "name",
        ),
        ("POST", "/api/orgs/acme/members".into(), json!({"name": format!("bob{nul}"), "role": "read"}), "name"),
        ("POST", "/api/orgs/acme/members/alice".into(), json!({"role": format!("admin{nul}")}), "role"),
        ("POST", "/api/orgs/acme".into(), json!({"billing_email": format!("x{nul}@example.com")}), "billing_email"),
        ("PUT", "/api/packages/held/owners/bob".into(), json!({"level": format!("full{nul}")}), "level"),
        (
            "POST",
            "/api/packages/held/releases/1.0.0/retire".into(),
            json!({"reason": "security", "message": format!("bad{nul}")}),
            "message",
        ),
        (
            "POST",
            "/api/packages/held/releases/1.0.0/retire".into(),
            json!({"reason": "security", "message": "line\r\nforged: header\u{7}"}),
            "message",
        ),
        (
            "POST",
            "/api/oauth/device_authorization".into(),
            json!({"client_id": format!("cli{nul}"), "scope": "api"}),
            "client_id",
        ),
        (
            "POST",
            "/api/oauth/token".into(),
            json!({"grant_type": "urn:ietf:params:oauth:grant-type:device_code", "device_code": nul, "client_id": "78ea6566-89fd-481e-a1d6-7d9d78eacca8"}),
            "device_code",
        ),
        (
            "POST",
            "/api/oauth/revoke".into(),
            json!({"token": format!("t{nul}"), "client_id": "78ea6566-89fd-481e-a1d6-7d9d78eacca8"}),
            "token",
        ),
        ("POST", "/api/oauth/revoke_by_hash".into(), json!({"token_hash": format!("h{nul}")}), "token_hash"),
    ];
    for (method, path, body, field) in &bodies {
        let method: &'static str = if *method == "PUT" { "PUT" } else { "POST" };
        cases.push(case(method, path.clone(), Via::Json(body.clone()), field));
        cases.push(case(method, path.clone(), Via::Etf(body.clone()), field));
    }
    // forms: the API's (OAuth takes them) and the pages'
    cases.push(case(
        "POST",
        "/api/oauth/device_authorization",
        Via::Form(&[("client_id", "cli\u{0}"), ("scope", "api")]),
        "client_id",
    ));
    cases.push(case(
        "POST",
        "/api/oauth/token",
        Via::Form(&[("grant_type", "refresh_token"), ("refresh_token", "\u{0}")]),
        "refresh_token",
    ));
    cases.push(case(
        "POST",
        "/login",
        Via::Form(&[("username", "alice\u{0}"), ("password", "x"), ("csrf", "x")]),
        "username",
    ));
    cases.push(case(
        "POST",
        "/login",
        Via::Form(&[("username", "alice"), ("password", "x\u{0}"), ("csrf", "x")]),
        "password",
    ));
    cases.push(case(
        "POST",
        "/oauth/device",
        Via::Form(&[("user_code", "ABCD\u{0}"), ("decision", "approve"), ("csrf", "x")]),
        "user_code",
    ));
    cases.push(case("POST", "/logout", Via::Form(&[("csrf", "\u{0}")]), "csrf"));
    cases.push(case("POST", "/account/keys/revoke", Via::Form(&[("name", "main\u{0}"), ("csrf", "x")]), "name"));
    // paths
    for path in [
        "/api/users/al%00ice",
        "/api/users/alice%00@example.com",
        "/api/users/%00/reset",
        "/api/keys/main%00",
        "/api/packages/held%00",
        "/api/packages/held/releases/1.0.0%00",
        "/api/packages/held/owners/al%00ice",
        "/api/orgs/ac%00me",
        "/api/orgs/acme/members/al%00ice",
        "/api/orgs/acme/keys/ci%00",
        "/api/repos/ac%00me/packages",
        "/repo/packages/held%00",
        "/repo/tarballs/held%00-1.0.0.tar",
        "/repo/docs/held%00-1.0.0.tar.gz",
        "/docs/held%00/",
        "/mirror/packages/%1b",
        "/oauth/device%0d%0a",
    ] {
        let method = if path.ends_with("/reset") { "POST" } else { "GET" };
        cases.push(case(method, path, Via::Nothing, "path"));
    }
    cases.push(case("DELETE", "/api/keys/ma%00in", Via::Nothing, "path"));
    // queries
    for (path, field) in [
        ("/api/packages?search=%00", "search"),
        ("/api/packages?search=name%3Aheld%00", "search"),
        ("/api/packages?sort=%00", "sort"),
        ("/api/packages?page=1%00", "page"),
        ("/api/repos/acme/packages?search=x%1b", "search"),
        ("/v1/search?q=%00", "q"),
        ("/v1/package?name=held%00", "name"),
        ("/api/auth?domain=api&resource=%00", "resource"),
        ("/login?return_to=%2F%0D%0ASet-Cookie%3A%20x%3D1", "return_to"),
        ("/oauth/device?user_code=%00", "user_code"),
    ] {
        cases.push(case("GET", path, Via::Nothing, field));
    }
    assert!(cases.len() >= 60, "{} cases", cases.len());

    for c in &cases {
        let url = format!("{}{}", server.url, c.path);
        let auth = [("authorization", key.as_str()), ("accept", "application/json")];
        let answer = match &c.via {
            Via::Json(v) => request(
                c.method,
                &url,
                &[auth[0], auth[1], ("content-type", "application/json")],
                Some(&serde_json::to_vec(v).unwrap()),
            ),
            Via::Etf(v) => request(
                c.method,
                &url,
                &[auth[0], auth[1], ("content-type", "application/vnd.hex+erlang")],
                Some(&etf(v)),
            ),
            Via::Form(fields) => request(
                c.method,
                &url,
                &[auth[0], auth[1], ("content-type", "application/x-www-form-urlencoded")],
                Some(&form(fields)),
            ),
            Via::Nothing => request(c.method, &url, &auth, None),
        };
        assert_eq!(answer.status, 422, "{} {}: {}", c.method, c.path, answer.text());
        let text = answer.text();
        assert!(text.contains(c.field) && text.contains("control characters"), "{} {}: {text}", c.method, c.path);
        if let Via::Etf(_) = c.via {
            assert_eq!(answer.header("content-type"), Some("application/json"), "answered as asked (accept)");
        }
    }
    // nothing of it was stored, and the server is as it was
    assert!(
        server.psql("SELECT count(*) FROM users").trim().ends_with('1'),
        "{}",
        server.psql("SELECT count(*) FROM users")
    );
    assert!(server.log().lines().all(|l| !l.contains(" 500 ") && !l.contains("status=500")), "{}", server.log());
}

#[test]
fn tarball_metadata_with_control_characters_is_refused() {
    let server = Server::start("hexyard");
    let key = server.user_with_key("alice", &[]);
    for (what, edit) in [
        (
            "description",
            Box::new(|m: &mut hexyard_tarball::Metadata| m.description = Some("nul\u{0}here".into()))
                as Box<dyn Fn(&mut hexyard_tarball::Metadata)>,
        ),
        (
            "links",
            Box::new(|m: &mut hexyard_tarball::Metadata| {
                m.links.insert("Home\u{1b}".into(), "https://example.com".into());
            }),
        ),
        ("licenses", Box::new(|m: &mut hexyard_tarball::Metadata| m.licenses = vec!["MIT\u{0}".into()])),
        ("extra", Box::new(|m: &mut hexyard_tarball::Metadata| m.extra = serde_json::json!({"k": "v\u{0}"}))),
    ] {
        let body = tarball_with("dirty", "1.0.0", &[], |m| edit(m));
        let answer = server.publish(&key, &body, false);
        assert_eq!(answer.status, 422, "{what}: {}", answer.text());
        assert!(answer.text().contains(what) && answer.text().contains("control characters"), "{}", answer.text());
    }
    assert_eq!(get(&server.api("/packages/dirty"), &[]).status, 404, "nothing published");
}

#[test]
fn sign_out_needs_the_csrf_token_and_return_to_stays_on_site() {
    let server = Server::start("hexyard");
    user_with_password(&server, "carol", "correct horse battery");
    let mut browser = Browser::new();
    browser.sign_in(&server, "carol", "correct horse battery");
    let account = format!("{}/dashboard", server.url);
    assert_eq!(browser.get(&account).status, 200);
    // a cross-site form posts /logout without the token: refused, still signed in
    let forged = browser.post(&format!("{}/logout", server.url), &[]);
    assert_eq!(forged.status, 403, "{}", forged.text());
    assert_eq!(browser.get(&account).status, 200, "still signed in");
    let page = browser.get(&account);
    let csrf = hidden(&page.text(), "csrf");
    let out = browser.post(&format!("{}/logout", server.url), &[("csrf", &csrf)]);
    assert_eq!(out.status, 303);
    assert_ne!(browser.get(&account).status, 200, "signed out");

    // after sign-in, return_to goes only to a path of this site
    for (given, lands) in
        [("/account/tfa", "/account/tfa"), ("//evil.example/x", "/"), ("https://evil.example", "/"), ("/\\evil", "/")]
    {
        let mut browser = Browser::new();
        let page = browser.get(&format!("{}/login?return_to={}", server.url, urlencode(given)));
        let csrf = hidden(&page.text(), "csrf");
        let done = browser.post(
            &format!("{}/login", server.url),
            &[("username", "carol"), ("password", "correct horse battery"), ("csrf", &csrf), ("return_to", given)],
        );
        assert_eq!((done.status, done.header("location")), (303, Some(lands)), "{given}");
    }
}

fn urlencode(text: &str) -> String {
    serde_urlencoded::to_string([("v", text)]).unwrap().trim_start_matches("v=").to_owned()
}

#[test]
fn a_private_email_names_no_one() {
    let server = Server::start("hexyard");
    server.user_with_key("dana", &[]);
    let by_email = get(&server.api("/users/dana@example.com"), &[]);
    assert_eq!(by_email.status, 404, "a private address maps to no username: {}", by_email.text());
    assert_eq!(get(&server.api("/users/dana"), &[]).status, 200);
}

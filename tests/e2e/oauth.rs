//! The OAuth device flow end to end over real HTTP, as mix runs it (ETF bodies), with the
//! approval given on the web page by a browser-like client keeping cookies.

use hexyard_term::{Term, etf};
use serde_json::{Value, json};

use crate::support::*;

pub(crate) const MIX: &str = "78ea6566-89fd-481e-a1d6-7d9d78eacca8";
const ETF: (&str, &str) = ("accept", "application/vnd.hex+erlang");
const ETF_BODY: (&str, &str) = ("content-type", "application/vnd.hex+erlang");

pub(crate) fn etf_map(pairs: &[(&str, &str)]) -> Vec<u8> {
    etf::encode(&Term::Map(pairs.iter().map(|(k, v)| (Term::binary(k), Term::binary(v))).collect()))
}

pub(crate) fn decoded(resp: &Response) -> Value {
    assert!(resp.header("content-type").unwrap_or_default().contains("vnd.hex+erlang"), "{resp:?}");
    hexyard_term::json::to_json(&etf::decode(&resp.body).unwrap()).unwrap()
}

/// A browser: cookies kept between requests, forms posted.
pub(crate) struct Browser {
    cookies: Vec<(String, String)>,
}

impl Browser {
    pub(crate) fn new() -> Self {
        Browser { cookies: Vec::new() }
    }

    fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    fn keep(&mut self, resp: &Response) {
        for (name, value) in &resp.headers {
            if name.eq_ignore_ascii_case("set-cookie") {
                let pair = value.split(';').next().unwrap();
                let (k, v) = pair.split_once('=').unwrap();
                self.cookies.retain(|(n, _)| n != k);
                if !v.is_empty() {
                    self.cookies.push((k.to_owned(), v.to_owned()));
                }
            }
        }
    }

    pub(crate) fn get(&mut self, url: &str) -> Response {
        let cookie = self.cookie_header();
        let resp = get(url, &[("cookie", &cookie)]);
        self.keep(&resp);
        resp
    }

    pub(crate) fn post(&mut self, url: &str, form: &[(&str, &str)]) -> Response {
        let cookie = self.cookie_header();
        let body = form.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect::<Vec<_>>().join("&");
        let resp = request(
            "POST",
            url,
            &[("cookie", &cookie), ("content-type", "application/x-www-form-urlencoded")],
            Some(body.as_bytes()),
        );
        self.keep(&resp);
        resp
    }

    pub(crate) fn sign_in(&mut self, server: &Server, username: &str, password: &str) {
        let form = self.get(&format!("{}/login", server.url));
        let csrf = hidden(&form.text(), "csrf");
        let resp = self
            .post(&format!("{}/login", server.url), &[("username", username), ("password", password), ("csrf", &csrf)]);
        assert_eq!(resp.status, 303, "{}", resp.text());
    }
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The value of a hidden form field in a page.
pub(crate) fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no {name} field in:\n{html}")) + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

pub(crate) fn user_with_password(server: &Server, name: &str, password: &str) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hexyard"))
        .args([
            "admin",
            "user",
            "create",
            name,
            "--email",
            &format!("{name}@example.com"),
            "--confirmed",
            "--password-stdin",
        ])
        .env("HEXYARD_DATA_DIR", server.data_dir())
        .env("HEXYARD_REPOSITORY", &server.repository)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(password.as_bytes())?;
            child.wait_with_output()
        })
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

pub(crate) fn start_device_flow(server: &Server) -> Value {
    let body = etf_map(&[("client_id", MIX), ("scope", "api repositories"), ("name", "laptop")]);
    let resp = request("POST", &server.api("/oauth/device_authorization"), &[ETF, ETF_BODY], Some(&body));
    assert_eq!(resp.status, 200, "{}", resp.text());
    decoded(&resp)
}

pub(crate) fn poll(server: &Server, device_code: &str) -> (u16, Value) {
    let body = etf_map(&[
        ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
        ("device_code", device_code),
        ("client_id", MIX),
    ]);
    let resp = request("POST", &server.api("/oauth/token"), &[ETF, ETF_BODY], Some(&body));
    (resp.status, decoded(&resp))
}

#[test]
fn device_flow_approve_refresh_revoke() {
    let server = Server::start("hexyard");
    user_with_password(&server, "dana", "s3cret-pass");
    let device = start_device_flow(&server);
    for field in ["device_code", "user_code", "verification_uri_complete", "expires_in", "interval"] {
        assert!(device.get(field).is_some(), "{field} missing: {device}");
    }
    let code = device["user_code"].as_str().unwrap();
    assert_eq!(code.len(), 8);
    let complete = device["verification_uri_complete"].as_str().unwrap();
    assert!(complete.starts_with("http://") && complete.ends_with(&format!("?user_code={code}")));
    let device_code = device["device_code"].as_str().unwrap();

    let (status, body) = poll(&server, device_code);
    assert_eq!((status, body["error"].as_str()), (400, Some("authorization_pending")));
    let (status, body) = poll(&server, device_code);
    assert_eq!((status, body["error"].as_str()), (400, Some("slow_down")), "polled at once again");

    // the browser: the page asks to sign in first, then shows the request
    let mut browser = Browser::new();
    let first = browser.get(complete);
    assert_eq!(first.status, 303);
    assert!(first.header("location").unwrap().starts_with("/login?return_to="));
    browser.sign_in(&server, "dana", "s3cret-pass");
    let page = browser.get(complete);
    assert_eq!(page.status, 200);
    assert!(
        page.text().contains(code) && page.text().contains("repositories") && page.text().contains("Hex CLI (laptop)")
    );
    // a forged post without the session's CSRF token is refused
    let forged = browser.post(&format!("{}/oauth/device", server.url), &[("user_code", code), ("decision", "approve")]);
    assert_eq!(forged.status, 403);
    let csrf = hidden(&page.text(), "csrf");
    let approved = browser.post(
        &format!("{}/oauth/device", server.url),
        &[("user_code", code), ("decision", "approve"), ("csrf", &csrf)],
    );
    assert_eq!(approved.status, 200);
    assert!(approved.text().contains("Approved"));

    let (status, tokens) = poll(&server, device_code);
    assert_eq!(status, 200, "{tokens}");
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    assert!(tokens["expires_in"].as_i64().unwrap() > 0);
    assert_eq!(poll(&server, device_code).1["error"], "invalid_grant", "a device code gives tokens once");

    let me = get(&server.api("/users/me"), &[("authorization", &format!("Bearer {access}"))]);
    assert_eq!((me.status, me.json()["username"].as_str()), (200, Some("dana")));

    // refresh rotates: new pair, the old refresh token is dead
    let body = etf_map(&[("grant_type", "refresh_token"), ("refresh_token", &refresh), ("client_id", MIX)]);
    let resp = request("POST", &server.api("/oauth/token"), &[ETF, ETF_BODY], Some(&body));
    assert_eq!(resp.status, 200);
    let rotated = decoded(&resp);
    let access2 = rotated["access_token"].as_str().unwrap().to_owned();
    assert_ne!(access2, access);
    assert!(rotated["refresh_token"].is_string());
    let again = request("POST", &server.api("/oauth/token"), &[ETF, ETF_BODY], Some(&body));
    assert_eq!((again.status, decoded(&again)["error"].as_str()), (400, Some("invalid_grant")));
    assert_eq!(get(&server.api("/users/me"), &[("authorization", &format!("Bearer {access}"))]).status, 401);
    assert_eq!(get(&server.api("/users/me"), &[("authorization", &format!("Bearer {access2}"))]).status, 200);

    // revoke kills it
    let revoke = request(
        "POST",
        &server.api("/oauth/revoke"),
        &[ETF, ETF_BODY],
        Some(&etf_map(&[("token", &access2), ("client_id", MIX)])),
    );
    assert_eq!(revoke.status, 200);
    assert_eq!(get(&server.api("/users/me"), &[("authorization", &format!("Bearer {access2}"))]).status, 401);

    // revoke_by_hash ends the whole grant (Gleam sends it as GET with a JSON body)
    let fresh_refresh = rotated["refresh_token"].as_str().unwrap();
    let hash = hexyard_tarball::hex_lower(&sha(fresh_refresh));
    let by_hash = request(
        "GET",
        &server.api("/oauth/revoke_by_hash"),
        &[("content-type", "application/json")],
        Some(json!({"token_hash": hash}).to_string().as_bytes()),
    );
    assert_eq!(by_hash.status, 200);
    let body = etf_map(&[("grant_type", "refresh_token"), ("refresh_token", fresh_refresh), ("client_id", MIX)]);
    let dead = request("POST", &server.api("/oauth/token"), &[ETF, ETF_BODY], Some(&body));
    assert_eq!(dead.status, 400);
}

fn sha(text: &str) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(text.as_bytes()).into()
}

#[test]
fn device_flow_denied_and_expired() {
    let server = Server::start("hexyard");
    user_with_password(&server, "erin", "s3cret-pass");
    let device = start_device_flow(&server);
    let mut browser = Browser::new();
    browser.sign_in(&server, "erin", "s3cret-pass");
    let page = browser.get(device["verification_uri_complete"].as_str().unwrap());
    let csrf = hidden(&page.text(), "csrf");
    let code = device["user_code"].as_str().unwrap();
    let denied = browser
        .post(&format!("{}/oauth/device", server.url), &[("user_code", code), ("decision", "deny"), ("csrf", &csrf)]);
    assert_eq!(denied.status, 200);
    let (status, body) = poll(&server, device["device_code"].as_str().unwrap());
    assert_eq!((status, body["error"].as_str()), (403, Some("access_denied")));

    let late = start_device_flow(&server);
    server.psql("UPDATE device_authorizations SET expires_at = now() - interval '1 second' WHERE status = 'pending'");
    let (status, body) = poll(&server, late["device_code"].as_str().unwrap());
    assert_eq!((status, body["error"].as_str()), (400, Some("expired_token")));
    let page = browser.get(late["verification_uri_complete"].as_str().unwrap());
    assert_eq!(page.status, 404, "an expired code cannot be approved");

    let unknown = request(
        "POST",
        &server.api("/oauth/device_authorization"),
        &[("content-type", "application/json")],
        Some(br#"{"client_id":"nope"}"#),
    );
    assert_eq!((unknown.status, unknown.json()["error"].as_str()), (401, Some("invalid_client")));
    // a wrong password on the sign-in page
    let mut stranger = Browser::new();
    let form = stranger.get(&format!("{}/login", server.url));
    let csrf = hidden(&form.text(), "csrf");
    let wrong =
        stranger.post(&format!("{}/login", server.url), &[("username", "erin"), ("password", "nope"), ("csrf", &csrf)]);
    assert_eq!(wrong.status, 401);
}

#[test]
fn client_credentials_exchange_a_key_for_a_narrower_token() {
    let server = Server::start("hexyard");
    let key = server.user_with_key("ci", &["api:read", "repositories"]);
    let form = |scope: &str| {
        format!("grant_type=client_credentials&client_id={MIX}&client_secret={key}&scope={}", encode(scope))
    };
    let ok = request(
        "POST",
        &server.api("/oauth/token"),
        &[("content-type", "application/x-www-form-urlencoded")],
        Some(form("repositories api:read").as_bytes()),
    );
    assert_eq!(ok.status, 200, "{}", ok.text());
    let tokens = ok.json();
    assert!(tokens.get("refresh_token").is_none(), "no refresh for an exchange");
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(get(&server.api("/users/me"), &[("authorization", &format!("Bearer {access}"))]).status, 200);
    let wider = request(
        "POST",
        &server.api("/oauth/token"),
        &[("content-type", "application/x-www-form-urlencoded")],
        Some(form("api:write").as_bytes()),
    );
    assert_eq!(
        (wider.status, wider.json()["error_description"].as_str()),
        (400, Some("Requested scopes exceed API key permissions"))
    );
    let bad = request(
        "POST",
        &server.api("/oauth/token"),
        &[("content-type", "application/json")],
        Some(json!({"grant_type": "client_credentials", "client_secret": "wrong"}).to_string().as_bytes()),
    );
    assert_eq!((bad.status, bad.json()["error"].as_str()), (401, Some("invalid_client")));
}

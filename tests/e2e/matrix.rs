//! The authorization matrix: every API route against every kind of caller, from one table.
//! The callers: nobody, a read key, a write key, another user's write key, a key scoped to one
//! package, and OAuth tokens for reading and for writing, the latter without and with a TOTP code.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::oauth::Browser;
use crate::support::*;

const CALLERS: [&str; 8] = [
    "anonymous",
    "read key",
    "write key",
    "other user's key",
    "package key",
    "oauth read",
    "oauth write, no otp",
    "oauth write + otp",
];

/// What a caller sends: an Authorization header and maybe an OTP.
struct Caller {
    auth: Option<String>,
    otp: Option<String>,
}

/// One route: a label, what each caller must get, and how to call it (`i` tells calls apart
/// where a route needs fresh names).
type Route = (&'static str, [u16; 8], fn(&Server, &Caller, usize) -> Response);

fn send(server: &Server, caller: &Caller, method: &str, path: &str, body: Option<&[u8]>) -> Response {
    let mut headers: Vec<(&str, &str)> = vec![("content-type", "application/json")];
    if let Some(auth) = &caller.auth {
        headers.push(("authorization", auth));
    }
    if let Some(otp) = &caller.otp {
        headers.push(("x-hex-otp", otp));
    }
    request(method, &server.api(path), &headers, body)
}

const ROUTES: &[Route] = &[
    ("GET /packages", [200, 200, 200, 200, 200, 200, 200, 200], |s, c, _| send(s, c, "GET", "/packages", None)),
    ("GET /packages/plug", [200, 200, 200, 200, 200, 200, 200, 200], |s, c, _| {
        send(s, c, "GET", "/packages/plug", None)
    }),
    ("GET /packages/plug/releases/1.0.0", [200, 200, 200, 200, 200, 200, 200, 200], |s, c, _| {
        send(s, c, "GET", "/packages/plug/releases/1.0.0", None)
    }),
    ("GET /users/me", [401, 200, 200, 200, 401, 200, 200, 200], |s, c, _| send(s, c, "GET", "/users/me", None)),
    ("GET /users/me/audit-logs", [401, 200, 200, 200, 401, 200, 200, 200], |s, c, _| {
        send(s, c, "GET", "/users/me/audit-logs", None)
    }),
    ("GET /packages/plug/audit-logs", [401, 200, 200, 200, 401, 200, 200, 200], |s, c, _| {
        send(s, c, "GET", "/packages/plug/audit-logs", None)
    }),
    ("GET /keys", [401, 200, 200, 200, 401, 200, 200, 200], |s, c, _| send(s, c, "GET", "/keys", None)),
    ("GET /auth?domain=api&resource=read", [401, 200, 200, 200, 401, 200, 200, 200], |s, c, _| {
        send(s, c, "GET", "/auth?domain=api&resource=read", None)
    }),
    ("POST /keys", [401, 401, 201, 201, 401, 401, 401, 201], |s, c, i| {
        send(s, c, "POST", "/keys", Some(format!(r#"{{"name":"made-{i}"}}"#).as_bytes()))
    }),
    ("DELETE /keys/victim-N", [401, 401, 200, 404, 401, 401, 401, 200], |s, c, i| {
        send(s, c, "DELETE", &format!("/keys/victim-{i}"), None)
    }),
    ("POST /publish", [401, 401, 201, 403, 201, 401, 401, 201], |s, c, i| {
        send(s, c, "POST", "/publish", Some(&tarball("plug", &format!("2.0.{i}"), &[])))
    }),
    ("POST /packages/plug/releases", [401, 401, 201, 403, 201, 401, 401, 201], |s, c, i| {
        send(s, c, "POST", "/packages/plug/releases?replace=false", Some(&tarball("plug", &format!("3.0.{i}"), &[])))
    }),
];

fn exchange(server: &Server, key: &str, scope: &str) -> String {
    let form = format!("grant_type=client_credentials&client_secret={key}&scope={}", scope.replace(' ', "%20"));
    let resp = request(
        "POST",
        &server.api("/oauth/token"),
        &[("content-type", "application/x-www-form-urlencoded")],
        Some(form.as_bytes()),
    );
    assert_eq!(resp.status, 200, "{}", resp.text());
    format!("Bearer {}", resp.json()["access_token"].as_str().unwrap())
}

#[test]
fn every_route_for_every_caller() {
    let server = Server::start("hexyard");
    let mut browser = Browser::new();
    let (secret, _) = crate::tfa::enrol(&server, &mut browser, "alice");
    let write_key = server.admin(&["key", "create", "alice", "write"]);
    let read_key = server.admin(&["key", "create", "alice", "read", "--permission", "api:read"]);
    let package_key = server.admin(&["key", "create", "alice", "plug-ci", "--permission", "package:plug"]);
    let other_key = server.user_with_key("bob", &[]);
    assert_eq!(server.publish(&write_key, &tarball("plug", "1.0.0", &[]), false).status, 201);
    for i in 0..CALLERS.len() {
        server.admin(&["key", "create", "alice", &format!("victim-{i}")]);
    }
    let oauth_read = exchange(&server, &write_key, "api:read");
    let oauth_write = exchange(&server, &write_key, "api");
    // the next step's code: fresh for this token, and usable again by it for the whole test
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let otp = hexyard_totp::code_at(&secret, now + 30).unwrap();
    let callers = [
        Caller { auth: None, otp: None },
        Caller { auth: Some(read_key), otp: None },
        Caller { auth: Some(write_key), otp: None },
        Caller { auth: Some(other_key), otp: None },
        Caller { auth: Some(package_key), otp: None },
        Caller { auth: Some(oauth_read), otp: None },
        Caller { auth: Some(oauth_write.clone()), otp: None },
        Caller { auth: Some(oauth_write), otp: Some(otp) },
    ];

    let mut failures = Vec::new();
    for (label, expected, call) in ROUTES {
        for (i, (caller, want)) in callers.iter().zip(expected).enumerate() {
            let resp = call(&server, caller, i);
            if resp.status != *want {
                failures.push(format!("{label} as {}: {} (expected {want}) {}", CALLERS[i], resp.status, resp.text()));
            }
            if resp.status == 401 && caller.auth.is_some() && i == 6 && *want == 401 {
                // the OAuth write without a code is a TOTP challenge, nothing else
                let challenge = resp.header("www-authenticate").unwrap_or_default();
                if challenge != "Bearer realm=\"hex\", error=\"totp_required\"" {
                    failures.push(format!("{label} as {}: challenge {challenge:?}", CALLERS[i]));
                }
            }
            assert!(resp.status < 500, "{label} as {}: {}", CALLERS[i], resp.text());
        }
    }
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
}

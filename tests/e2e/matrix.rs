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
    ("POST /packages/plug/releases/1.0.0/retire", [401, 401, 204, 403, 204, 401, 401, 204], |s, c, _| {
        send(s, c, "POST", "/packages/plug/releases/1.0.0/retire", Some(br#"{"reason":"other","message":"old"}"#))
    }),
    ("DELETE /packages/plug/releases/1.0.0/retire", [401, 401, 204, 403, 204, 401, 401, 204], |s, c, _| {
        send(s, c, "DELETE", "/packages/plug/releases/1.0.0/retire", None)
    }),
    ("DELETE /packages/plug/releases/5.0.N", [401, 401, 204, 403, 204, 401, 401, 204], |s, c, i| {
        send(s, c, "DELETE", &format!("/packages/plug/releases/5.0.{i}"), None)
    }),
    ("GET /packages/plug/owners", [401, 200, 200, 200, 401, 200, 200, 200], |s, c, _| {
        send(s, c, "GET", "/packages/plug/owners", None)
    }),
    ("PUT /packages/plug/owners/carol", [401, 401, 204, 403, 204, 401, 401, 204], |s, c, _| {
        send(s, c, "PUT", "/packages/plug/owners/carol", Some(br#"{"level":"maintainer"}"#))
    }),
    ("DELETE /packages/plug/owners/dave-N", [401, 401, 204, 403, 204, 401, 401, 204], |s, c, i| {
        send(s, c, "DELETE", &format!("/packages/plug/owners/dave{i}"), None)
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
    server.user_with_key("carol", &[]);
    for i in 0..CALLERS.len() {
        server.admin(&["key", "create", "alice", &format!("victim-{i}")]);
        // a release to revert and an owner to remove for each caller
        assert_eq!(server.publish(&write_key, &tarball("plug", &format!("5.0.{i}"), &[]), false).status, 201);
        server.user_with_key(&format!("dave{i}"), &[]);
        let add = request(
            "PUT",
            &server.api(&format!("/packages/plug/owners/dave{i}")),
            &[("authorization", &write_key), ("content-type", "application/json")],
            Some(br#"{"level":"maintainer"}"#),
        );
        assert_eq!(add.status, 204, "{}", add.text());
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

const ORG_CALLERS: [&str; 8] = [
    "anonymous",
    "outsider's key",
    "another organization's key",
    "read member",
    "write member",
    "admin member",
    "organization key (fetch)",
    "organization key (api)",
];

fn org_send(auth: Option<&str>, method: &str, url: &str, body: Option<&[u8]>) -> Response {
    let mut headers: Vec<(&str, &str)> = vec![("content-type", "application/json")];
    if let Some(auth) = auth {
        headers.push(("authorization", auth));
    }
    request(method, url, &headers, body)
}

type OrgRoute = (&'static str, [u16; 8], fn(&Server, Option<&str>, usize) -> Response);

const ORG_ROUTES: &[OrgRoute] = &[
    ("GET /api/repos/acme/packages/pkg", [404, 404, 404, 200, 200, 200, 200, 200], |s, a, _| {
        org_send(a, "GET", &s.api("/repos/acme/packages/pkg"), None)
    }),
    ("GET /api/repos/acme/packages", [404, 404, 404, 200, 200, 200, 200, 200], |s, a, _| {
        org_send(a, "GET", &s.api("/repos/acme/packages"), None)
    }),
    ("GET /repo/repos/acme/packages/pkg", [404, 404, 404, 200, 200, 200, 200, 200], |s, a, _| {
        org_send(a, "GET", &format!("{}/repo/repos/acme/packages/pkg", s.url), None)
    }),
    ("GET /repo/repos/acme/tarballs/pkg-1.0.0.tar", [404, 404, 404, 200, 200, 200, 200, 200], |s, a, _| {
        org_send(a, "GET", &format!("{}/repo/repos/acme/tarballs/pkg-1.0.0.tar", s.url), None)
    }),
    ("POST /api/repos/acme/publish", [401, 404, 404, 403, 201, 201, 401, 201], |s, a, i| {
        org_send(a, "POST", &s.api("/repos/acme/publish"), Some(&tarball("pkg", &format!("2.0.{i}"), &[])))
    }),
    ("POST /api/repos/acme/packages/pkg/releases/1.0.0/retire", [401, 404, 404, 403, 204, 204, 401, 204], |s, a, _| {
        let body = br#"{"reason": "security", "message": "CVE-1"}"#;
        org_send(a, "POST", &s.api("/repos/acme/packages/pkg/releases/1.0.0/retire"), Some(body))
    }),
    ("DELETE /api/repos/acme/packages/pkg/releases/3.0.N", [401, 404, 404, 403, 204, 204, 401, 204], |s, a, i| {
        org_send(a, "DELETE", &s.api(&format!("/repos/acme/packages/pkg/releases/3.0.{i}")), None)
    }),
    ("GET /api/orgs/acme/members", [401, 404, 401, 200, 200, 200, 401, 401], |s, a, _| {
        org_send(a, "GET", &s.api("/orgs/acme/members"), None)
    }),
    ("POST /api/orgs/acme (seats)", [401, 404, 401, 403, 403, 200, 401, 401], |s, a, _| {
        org_send(a, "POST", &s.api("/orgs/acme"), Some(br#"{"seats": 20}"#))
    }),
    ("POST /api/orgs/acme/keys", [401, 404, 401, 403, 403, 201, 401, 401], |s, a, i| {
        org_send(a, "POST", &s.api("/orgs/acme/keys"), Some(format!(r#"{{"name": "k{i}"}}"#).as_bytes()))
    }),
];

#[test]
fn organization_routes_for_every_role_and_key() {
    let server = Server::start("hexyard");
    let admin = server.user_with_key("adm", &[]);
    let writer = server.user_with_key("wri", &[]);
    let reader = server.user_with_key("rea", &[]);
    let outsider = server.user_with_key("out", &[]);
    let other_admin = server.user_with_key("oth", &[]);
    server.admin(&["org", "create", "acme", "--owner", "adm"]);
    server.admin(&["org", "create", "other", "--owner", "oth"]);
    for (name, role) in [("wri", "write"), ("rea", "read")] {
        let body = format!(r#"{{"name": "{name}", "role": "{role}"}}"#);
        let resp = org_send(Some(&admin), "POST", &server.api("/orgs/acme/members"), Some(body.as_bytes()));
        assert_eq!(resp.status, 200);
    }
    let org_key = |owner: &str, org: &str, body: &str| {
        let resp = org_send(Some(owner), "POST", &server.api(&format!("/orgs/{org}/keys")), Some(body.as_bytes()));
        resp.json()["secret"].as_str().unwrap().to_owned()
    };
    let fetch = org_key(&admin, "acme", r#"{"name": "fetch"}"#);
    let api = org_key(
        &admin,
        "acme",
        r#"{"name": "api", "permissions": [{"domain": "api"}, {"domain": "repository", "resource": "acme"}]}"#,
    );
    let foreign = org_key(
        &other_admin,
        "other",
        r#"{"name": "api", "permissions": [{"domain": "api"}, {"domain": "repository", "resource": "other"}]}"#,
    );
    for version in ["1.0.0"].into_iter().map(str::to_owned).chain((0..8).map(|i| format!("3.0.{i}"))) {
        let publish =
            org_send(Some(&writer), "POST", &server.api("/repos/acme/publish"), Some(&tarball("pkg", &version, &[])));
        assert_eq!(publish.status, 201);
    }

    let callers: [Option<&str>; 8] =
        [None, Some(&outsider), Some(&foreign), Some(&reader), Some(&writer), Some(&admin), Some(&fetch), Some(&api)];
    let mut failures = Vec::new();
    for (label, expected, call) in ORG_ROUTES {
        for (i, (auth, want)) in callers.iter().zip(expected).enumerate() {
            let resp = call(&server, *auth, i);
            if resp.status != *want {
                failures.push(format!(
                    "{label} as {}: {} (expected {want}) {}",
                    ORG_CALLERS[i],
                    resp.status,
                    resp.text()
                ));
            }
            assert!(resp.status < 500, "{label} as {}: {}", ORG_CALLERS[i], resp.text());
        }
    }
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
}

//! TOTP 2FA with real codes from the enrolled secret: the exact challenges mix understands,
//! the replay rule, recovery codes, and keys that never need a code.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::oauth::{Browser, hidden, poll, start_device_flow, user_with_password};
use crate::support::*;

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

fn between(html: &str, start: &str, end: &str) -> String {
    let from = html.find(start).unwrap_or_else(|| panic!("{start} not in:\n{html}")) + start.len();
    html[from..].split(end).next().unwrap().to_owned()
}

/// Signs in, enrols, and returns the secret and the recovery codes.
pub(crate) fn enrol(server: &Server, browser: &mut Browser, user: &str) -> (Vec<u8>, Vec<String>) {
    user_with_password(server, user, "s3cret-pass");
    browser.sign_in(server, user, "s3cret-pass");
    let page = browser.get(&format!("{}/account/tfa", server.url));
    assert!(page.text().contains("<svg"), "a QR code drawn locally");
    let secret = hexyard_totp::from_base32(&between(&page.text(), "<code id=\"secret\">", "<")).unwrap();
    let csrf = hidden(&page.text(), "csrf");
    let wrong = browser.post(&format!("{}/account/tfa/enable", server.url), &[("code", "000000"), ("csrf", &csrf)]);
    assert_eq!(wrong.status, 422);
    let code = hexyard_totp::code_at(&secret, now()).unwrap();
    let done = browser.post(&format!("{}/account/tfa/enable", server.url), &[("code", &code), ("csrf", &csrf)]);
    assert_eq!(done.status, 200, "{}", done.text());
    let list = between(&done.text(), "id=\"recovery-codes\">", "</ul>");
    let codes: Vec<String> = list.split("<code>").skip(1).map(|c| c.split('<').next().unwrap().to_owned()).collect();
    assert_eq!(codes.len(), 10);
    (secret, codes)
}

/// An OAuth token of the signed-in user, through the device flow.
fn token(server: &Server, browser: &mut Browser) -> String {
    let device = start_device_flow(server);
    let page = browser.get(device["verification_uri_complete"].as_str().unwrap());
    let csrf = hidden(&page.text(), "csrf");
    let code = device["user_code"].as_str().unwrap();
    browser.post(
        &format!("{}/oauth/device", server.url),
        &[("user_code", code), ("decision", "approve"), ("csrf", &csrf)],
    );
    let (status, tokens) = poll(server, device["device_code"].as_str().unwrap());
    assert_eq!(status, 200);
    format!("Bearer {}", tokens["access_token"].as_str().unwrap())
}

fn create_key(server: &Server, auth: &str, otp: Option<&str>, name: &str) -> Response {
    let body = format!(r#"{{"name":"{name}","permissions":[{{"domain":"api","resource":"read"}}]}}"#);
    let mut headers = vec![("authorization", auth), ("content-type", "application/json")];
    if let Some(otp) = otp {
        headers.push(("x-hex-otp", otp));
    }
    request("POST", &server.api("/keys"), &headers, Some(body.as_bytes()))
}

#[test]
fn oauth_writes_need_a_current_code_keys_never_do() {
    let server = Server::start("hexyard");
    let mut browser = Browser::new();
    let (secret, _) = enrol(&server, &mut browser, "tess");
    let bearer = token(&server, &mut browser);

    // reads need no code
    assert_eq!(get(&server.api("/users/me"), &[("authorization", &bearer)]).status, 200);
    let missing = create_key(&server, &bearer, None, "a");
    assert_eq!(missing.status, 401);
    assert_eq!(missing.header("www-authenticate"), Some("Bearer realm=\"hex\", error=\"totp_required\""));
    let wrong = create_key(&server, &bearer, Some("123456"), "a");
    assert_eq!(wrong.status, 401);
    assert_eq!(wrong.header("www-authenticate"), Some("Bearer realm=\"hex\", error=\"invalid_totp\""));

    // the next step's code (within the one-step skew) is fresh even though enrolment used this one
    let code = hexyard_totp::code_at(&secret, now() + 30).unwrap();
    assert_eq!(create_key(&server, &bearer, Some(&code), "a").status, 201);
    // the same token may send the same code again (mix reuses it for the rest of its run)
    assert_eq!(create_key(&server, &bearer, Some(&code), "b").status, 201);
    // another token may not
    let other = token(&server, &mut browser);
    let replay = create_key(&server, &other, Some(&code), "c");
    assert_eq!(replay.status, 401);
    assert_eq!(replay.header("www-authenticate"), Some("Bearer realm=\"hex\", error=\"invalid_totp\""));

    // an API key writes without a code
    let key = server.admin(&["key", "create", "tess", "ci"]);
    assert_eq!(create_key(&server, &key, None, "d").status, 201);
    // a publish with an OAuth token is challenged too, before its body is read
    let publish =
        request("POST", &server.api("/publish"), &[("authorization", &bearer)], Some(&tarball("twofa", "1.0.0", &[])));
    assert_eq!(publish.header("www-authenticate"), Some("Bearer realm=\"hex\", error=\"totp_required\""));
    // with the code, the package and then its docs, asked for first as mix does
    let headers = [("authorization", bearer.as_str()), ("x-hex-otp", code.as_str())];
    let published = request("POST", &server.api("/publish"), &headers, Some(&tarball("twofa", "1.0.0", &[])));
    assert_eq!(published.status, 201, "{}", published.text());
    let docs = "/api/packages/twofa/releases/1.0.0/docs";
    let (_, asked) = crate::hostile::expect_continue_at(&server, docs, &bearer, 100, &[("x-hex-otp", &code)]);
    assert!(asked.starts_with("HTTP/1.1 100 Continue"), "{asked}");
}

#[test]
fn oauth_writes_need_2fa_enrolled() {
    let server = Server::start("hexyard");
    let mut browser = Browser::new();
    user_with_password(&server, "nofa", "s3cret-pass");
    browser.sign_in(&server, "nofa", "s3cret-pass");
    let bearer = token(&server, &mut browser);
    let resp = create_key(&server, &bearer, Some("123456"), "x");
    assert_eq!(resp.status, 403);
    assert_eq!(resp.json()["message"], "Two-factor authentication must be enabled for API write access");
}

#[test]
fn web_sign_in_asks_for_the_second_factor_and_recovery_codes_work_once() {
    let server = Server::start("hexyard");
    let mut first = Browser::new();
    let (_, codes) = enrol(&server, &mut first, "rhea");

    let mut second = Browser::new();
    let form = second.get(&format!("{}/login", server.url));
    let csrf = hidden(&form.text(), "csrf");
    let signed = second
        .post(&format!("{}/login", server.url), &[("username", "rhea"), ("password", "s3cret-pass"), ("csrf", &csrf)]);
    assert_eq!(signed.status, 303);
    assert!(signed.header("location").unwrap().starts_with("/login/tfa"));
    assert_eq!(second.get(&format!("{}/dashboard", server.url)).status, 303, "not signed in yet");
    let page = second.get(&format!("{}/login/tfa", server.url));
    let csrf = hidden(&page.text(), "csrf");
    let wrong = second.post(&format!("{}/login/tfa", server.url), &[("code", "aaaa-bbbb-cccc-dddd"), ("csrf", &csrf)]);
    assert_eq!(wrong.status, 401);
    let ok = second.post(&format!("{}/login/tfa", server.url), &[("code", &codes[0]), ("csrf", &csrf)]);
    assert_eq!(ok.status, 303);
    assert_eq!(second.get(&format!("{}/dashboard", server.url)).status, 200, "signed in");

    // the same recovery code a second time is refused
    let mut third = Browser::new();
    let form = third.get(&format!("{}/login", server.url));
    let csrf = hidden(&form.text(), "csrf");
    third.post(&format!("{}/login", server.url), &[("username", "rhea"), ("password", "s3cret-pass"), ("csrf", &csrf)]);
    let page = third.get(&format!("{}/login/tfa", server.url));
    let csrf = hidden(&page.text(), "csrf");
    let reused = third.post(&format!("{}/login/tfa", server.url), &[("code", &codes[0]), ("csrf", &csrf)]);
    assert_eq!(reused.status, 401);
    let other =
        third.post(&format!("{}/login/tfa", server.url), &[("code", &codes[1].to_uppercase()), ("csrf", &csrf)]);
    assert_eq!(other.status, 303);
    // secrets are sealed at rest: the stored bytes are not the secret's
    let stored = server.psql("SELECT encode(secret_sealed, 'hex') FROM user_tfa");
    assert!(stored.trim().len() > 2 * 20 + 2 * 12, "nonce, ciphertext and tag: {stored}");
}

#[test]
fn guessing_is_throttled() {
    let server = Server::start("hexyard");
    let mut browser = Browser::new();
    let (secret, _) = enrol(&server, &mut browser, "gus");
    let bearer = token(&server, &mut browser);
    for _ in 0..5 {
        assert_eq!(create_key(&server, &bearer, Some("000000"), "x").status, 401);
    }
    // past five wrong codes, even the right one is not looked at
    let right = hexyard_totp::code_at(&secret, now() + 30).unwrap();
    let blocked = create_key(&server, &bearer, Some(&right), "x");
    assert_eq!(blocked.status, 429);
    assert_eq!(
        blocked.json()["message"],
        "Too many failed two-factor authentication attempts. Please try again later."
    );

    // ten sign-in attempts per quarter hour from one address; enrolment made the first
    let mut guesser = Browser::new();
    let mut statuses = Vec::new();
    for _ in 0..10 {
        let form = guesser.get(&format!("{}/login", server.url));
        let csrf = hidden(&form.text(), "csrf");
        let resp = guesser
            .post(&format!("{}/login", server.url), &[("username", "gus"), ("password", "wrong"), ("csrf", &csrf)]);
        statuses.push(resp.status);
    }
    assert_eq!(statuses[..9], [401; 9]);
    assert_eq!(statuses[9], 429);
}

//! Mail with a real SMTP server (Python's aiosmtpd, writing a Maildir): the confirmation mail
//! of a registration and the password reset, and their links working end to end.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::oauth::{Browser, hidden};
use crate::support::*;

struct SmtpServer {
    child: Child,
    port: u16,
    maildir: PathBuf,
    _dir: tempfile::TempDir,
}

impl SmtpServer {
    fn start() -> SmtpServer {
        let dir = tempfile::tempdir().unwrap();
        let maildir = dir.path().join("maildir");
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .spawn()
            .expect("python3 with aiosmtpd is needed: pip install aiosmtpd (scripts/test does)");
        crate::support::wait_for_port(port, Duration::from_secs(15), "aiosmtpd");
        SmtpServer { child, port, maildir, _dir: dir }
    }

    fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits for a mail holding `needle` in a directory (searched recursively) and returns it
/// decoded. File names tell nothing of the order mails arrived in, so mails are found by content.
pub(crate) fn mail_with(dir: &Path, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut files = Vec::new();
        collect(dir, &mut files);
        for file in files {
            let raw = std::fs::read_to_string(&file).unwrap_or_default();
            // undo quoted-printable, in case the body was encoded so
            let mail = raw.replace("=\r\n", "").replace("=\n", "").replace("=3D", "=");
            if mail.contains(needle) {
                return mail;
            }
        }
        assert!(Instant::now() < deadline, "no mail with {needle:?} in {}", dir.display());
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else if !path.file_name().unwrap().to_string_lossy().starts_with('.') {
            out.push(path);
        }
    }
}

pub(crate) fn link(mail: &str, server: &Server, path: &str) -> String {
    let start = mail.find(&format!("{}{path}", server.url)).unwrap_or_else(|| panic!("no {path} link in:\n{mail}"));
    mail[start..].split_whitespace().next().unwrap().to_owned()
}

#[test]
fn confirmation_and_password_reset_mails_over_smtp() {
    let smtp = SmtpServer::start();
    let url = smtp.url();
    let server =
        Server::start_with("hexyard", &[("HEXYARD_SMTP_URL", &url), ("HEXYARD_MAIL_FROM", "registry@example.com")]);

    let body = json!({"username": "mia", "email": "mia@example.com", "password": "first-pass"}).to_string();
    let created =
        request("POST", &server.api("/users"), &[("content-type", "application/json")], Some(body.as_bytes()));
    assert_eq!(created.status, 201, "{}", created.text());
    let mail = mail_with(&smtp.maildir, "/email/verify");
    assert!(mail.contains("To: mia@example.com") && mail.contains("From: registry@example.com"), "{mail}");

    // not confirmed yet: a key works, but publishing is refused
    let basic = "Basic bWlhOmZpcnN0LXBhc3M="; // mia:first-pass
    let key = request(
        "POST",
        &server.api("/keys"),
        &[("authorization", basic), ("content-type", "application/json")],
        Some(br#"{"name":"k"}"#),
    );
    assert_eq!(key.status, 201);
    let secret = key.json()["secret"].as_str().unwrap().to_owned();
    let refused = server.publish(&secret, &tarball("mailed", "1.0.0", &[]), false);
    assert_eq!((refused.status, refused.json()["message"].as_str()), (403, Some("email not verified")));
    let confirm = link(&mail, &server, "/email/verify");
    assert_eq!(get(&confirm, &[]).status, 200);
    assert_eq!(get(&confirm, &[]).status, 404, "a link works once");
    assert_eq!(server.publish(&secret, &tarball("mailed", "1.0.0", &[]), false).status, 201);

    // a browser session and an exchanged OAuth token, both ended by the reset
    let mut browser = Browser::new();
    browser.sign_in(&server, "mia", "first-pass");
    assert_eq!(browser.get(&format!("{}/dashboard", server.url)).status, 200);
    let form = format!("grant_type=client_credentials&client_secret={secret}&scope=api");
    let exchanged = request(
        "POST",
        &server.api("/oauth/token"),
        &[("content-type", "application/x-www-form-urlencoded")],
        Some(form.as_bytes()),
    );
    let bearer = format!("Bearer {}", exchanged.json()["access_token"].as_str().unwrap());
    assert_eq!(get(&server.api("/users/me"), &[("authorization", &bearer)]).status, 200);

    assert_eq!(request("POST", &server.api("/users/mia/reset"), &[], Some(b"")).status, 204);
    assert_eq!(request("POST", &server.api("/users/nobody/reset"), &[], Some(b"")).status, 404);
    let mail = mail_with(&smtp.maildir, "/password/new");
    let reset = link(&mail, &server, "/password/new");
    let mut other = Browser::new();
    let page = other.get(&reset);
    assert_eq!(page.status, 200);
    let csrf = hidden(&page.text(), "csrf");
    let username = hidden(&page.text(), "username");
    let key = hidden(&page.text(), "key");
    let short = other.post(
        &format!("{}/password/new", server.url),
        &[("csrf", &csrf), ("username", &username), ("key", &key), ("password", "short"), ("confirmation", "short")],
    );
    assert_eq!(short.status, 422);
    let page = other.get(&reset);
    let csrf = hidden(&page.text(), "csrf");
    let done = other.post(
        &format!("{}/password/new", server.url),
        &[
            ("csrf", &csrf),
            ("username", &username),
            ("key", &key),
            ("password", "second-pass"),
            ("confirmation", "second-pass"),
        ],
    );
    assert_eq!(done.status, 200, "{}", done.text());

    assert_eq!(browser.get(&format!("{}/dashboard", server.url)).status, 303, "the old session ended");
    assert_eq!(get(&server.api("/users/me"), &[("authorization", &bearer)]).status, 401, "the token ended");
    assert_eq!(get(&reset, &[]).status, 404, "the link works once");
    let old = request("POST", &server.api("/keys"), &[("authorization", basic)], Some(br#"{"name":"k2"}"#));
    assert_eq!(old.status, 401);
    let mut again = Browser::new();
    again.sign_in(&server, "mia", "second-pass");
}

#[test]
fn without_smtp_mails_are_written_under_the_data_dir() {
    let server = Server::start("hexyard");
    let body = json!({"username": "noa", "email": "noa@example.com", "password": "first-pass"}).to_string();
    assert_eq!(
        request("POST", &server.api("/users"), &[("content-type", "application/json")], Some(body.as_bytes())).status,
        201
    );
    let mail = mail_with(&server.data_dir().join("mail"), "/email/verify");
    let confirm = link(&mail, &server, "/email/verify");
    assert_eq!(get(&confirm, &[]).status, 200);
}

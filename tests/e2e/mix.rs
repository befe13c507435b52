//! The real mix client (Hex 2.5.1, from `../shared/clients/`): publishing with a key,
//! `mix deps.get` from a repository added with `--fetch-public-key`, and `mix hex.user auth`
//! through the OAuth device flow approved on the web page. mix exits 0 after many failures, so
//! every test also checks what the server holds.

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use crate::oauth::{Browser, hidden, user_with_password};
use crate::support::*;

pub(crate) use crate::support::{Mix, text};

pub(crate) const GREETER: &str = r#"defmodule Greeter.MixProject do
  use Mix.Project

  def project do
    [
      app: :greeter,
      version: "1.0.0",
      description: "Says hello",
      package: [licenses: ["MIT"], links: %{"Home" => "https://example.com/greeter"}],
      deps: []
    ]
  end
end
"#;

#[test]
fn mix_publishes_then_fetches_from_a_repository_added_by_fingerprint() {
    let server = Server::start("hexyard");
    let key = server.user_with_key("mia", &[]);
    let mix = Mix::new();
    let greeter = mix.project("greeter", GREETER);
    let api = server.api("");
    let published =
        mix.run(&greeter, &["hex.publish", "package", "--yes"], &[("HEX_API_URL", &api), ("HEX_API_KEY", &key)]);
    let out = text(&published);
    assert!(out.contains("Package published to"), "{out}");
    let package = get(&server.api("/packages/greeter"), &[]).json();
    assert_eq!(package["latest_version"], "1.0.0", "{package}");
    let checksum = package["releases"][0]["url"].as_str().map(|url| get(url, &[]).json()["checksum"].clone()).unwrap();

    // a wrong fingerprint is refused; the right one adds the repository
    let fingerprint = get(&server.api("/repos/hexyard"), &[]).json()["fingerprint"].as_str().unwrap().to_owned();
    let repo_url = format!("{}/repo", server.url);
    let wrong =
        mix.run(mix.home.path(), &["hex.repo", "add", "hexyard", &repo_url, "--fetch-public-key", "SHA256:AAAA"], &[]);
    assert!(!wrong.status.success() || text(&wrong).contains("does not match"), "{}", text(&wrong));
    let added =
        mix.run(mix.home.path(), &["hex.repo", "add", "hexyard", &repo_url, "--fetch-public-key", &fingerprint], &[]);
    assert!(added.status.success(), "{}", text(&added));

    let app = mix.project(
        "app",
        r#"defmodule App.MixProject do
  use Mix.Project
  def project, do: [app: :app, version: "0.1.0", deps: [{:greeter, "~> 1.0", repo: "hexyard"}]]
end
"#,
    );
    let fetched = mix.run(&app, &["deps.get"], &[]);
    let out = text(&fetched);
    assert!(out.contains("/repo/tarballs/greeter-1.0.0.tar\") => 200"), "{out}");
    let lock = std::fs::read_to_string(app.join("mix.lock")).unwrap_or_else(|_| panic!("no mix.lock: {out}"));
    assert!(lock.contains("\"hexyard\"") && lock.contains(checksum.as_str().unwrap()), "{lock}");
    assert!(app.join("deps/greeter/lib/greeter.ex").exists(), "{out}");
    assert_eq!(server.downloads_reach("/packages/greeter/releases/1.0.0", "", 1), 1, "the fetch was counted");
}

#[test]
fn mix_hex_user_auth_signs_in_through_the_device_flow() {
    let server = Server::start("hexyard");
    user_with_password(&server, "tom", "a long password");
    let mix = Mix::new();
    let mut child = mix
        .command(mix.home.path())
        .args(["hex.user", "auth"])
        .env("HEX_API_URL", server.api(""))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut seen = String::new();
    let url = loop {
        let mut line = String::new();
        assert!(stdout.read_line(&mut line).unwrap() > 0, "mix stopped before asking: {seen}");
        seen.push_str(&line);
        if let Some(url) = line.trim().strip_prefix("To authenticate, visit: ") {
            break url.to_owned();
        }
    };
    assert!(url.starts_with(&format!("{}/oauth/device?user_code=", server.url)), "{url}");

    // the user approves in a browser while mix polls on its kept-alive connection
    let mut browser = Browser::new();
    browser.sign_in(&server, "tom", "a long password");
    let page = browser.get(&url);
    let code = url.rsplit('=').next().unwrap();
    let csrf = hidden(&page.text(), "csrf");
    let approved = browser.post(
        &format!("{}/oauth/device", server.url),
        &[("csrf", &csrf), ("user_code", code), ("decision", "approve")],
    );
    assert_eq!(approved.status, 200, "{}", approved.text());

    std::io::Read::read_to_string(&mut stdout, &mut seen).unwrap();
    let rest = child.wait_with_output().unwrap();
    assert!(seen.contains("You are authenticated!"), "{seen}{}", String::from_utf8_lossy(&rest.stderr));
    // the token mix kept works on the API as tom
    let config = std::fs::read_to_string(mix.home.path().join("hex/hex.config")).unwrap();
    let token = config
        .split("access_token =>")
        .nth(1)
        .and_then(|t| t.split("<<\"").nth(1))
        .and_then(|t| t.split('"').next())
        .unwrap_or_else(|| panic!("{config}"));
    let me = get(&server.api("/users/me"), &[("authorization", &format!("Bearer {token}"))]);
    assert_eq!((me.status, me.json()["username"].as_str()), (200, Some("tom")));
    assert_eq!(
        server
            .psql("SELECT count(*) FROM oauth_grants WHERE client_id = '78ea6566-89fd-481e-a1d6-7d9d78eacca8'")
            .trim(),
        "1"
    );
}

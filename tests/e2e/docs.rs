//! Docs: what `mix hex.publish` sends after the package, kept as uploaded and served at
//! `/repo/docs/NAME-VERSION.tar.gz` and as a site at `/docs/NAME/…`; hostile docs tarballs
//! refused; an organization's docs for its members only, in every form.

use crate::mix::{Mix, text};
use crate::oauth::{Browser, user_with_password};
use crate::support::*;
use hexyard_tarball::testing::{Raw, file, gzip, raw_tar};

const WITH_DOCS: &str = r#"defmodule Greeter.MixProject do
  use Mix.Project

  def project do
    [
      app: :greeter,
      version: "1.0.0",
      description: "Says hello",
      package: [licenses: ["MIT"], links: %{"Home" => "https://example.com/greeter"}],
      aliases: [docs: &docs/1],
      deps: []
    ]
  end

  # what ex_doc would do: the HTML under doc/
  defp docs(_) do
    File.mkdir_p!("doc/dist")
    File.write!("doc/index.html", "<h1>greeter</h1>")
    File.write!("doc/dist/app.css", "h1 { color: red }")
  end
end
"#;

#[test]
fn mix_publishes_docs_with_the_package_and_alone() {
    let server = Server::start("hexyard");
    let key = server.user_with_key("mia", &[]);
    let mix = Mix::new();
    let api = server.api("");
    let env = [("HEX_API_URL", api.as_str()), ("HEX_API_KEY", key.as_str())];
    let greeter = mix.project("greeter", WITH_DOCS);
    let out = text(&mix.run(&greeter, &["hex.publish", "--yes"], &env));
    assert!(out.contains("releases/1.0.0/docs\") => 201"), "{out}");
    let url = format!("{}/repo/docs/greeter-1.0.0.tar.gz", server.url);
    assert!(out.contains(&format!("Docs will soon be available at {url}")), "{out}");
    let first = get(&url, &[]);
    assert_eq!(first.status, 200);
    assert_eq!(get(&url, &[("if-none-match", first.header("etag").unwrap())]).status, 304);
    let release = get(&server.api("/packages/greeter/releases/1.0.0"), &[]).json();
    assert_eq!(release["has_docs"], true);
    let site = format!("{}/docs/greeter/1.0.0/", server.url);
    assert_eq!(release["docs_html_url"], site.as_str());
    assert_eq!(
        get(&server.api("/packages/greeter"), &[]).json()["docs_html_url"],
        format!("{}/docs/greeter/", server.url)
    );
    // the site serves what ex_doc wrote, versioned and as the latest docs
    for page in [format!("{site}index.html"), site.clone(), format!("{}/docs/greeter/", server.url)] {
        let html = get(&page, &[]);
        assert_eq!((html.status, html.text().as_str()), (200, "<h1>greeter</h1>"), "{page}");
        assert_eq!(html.header("content-type"), Some("text/html; charset=utf-8"));
        assert!(html.header("content-security-policy").unwrap().starts_with("sandbox "), "{page}");
    }
    let css = get(&format!("{site}dist/app.css"), &[]);
    assert_eq!(
        (css.text().as_str(), css.header("content-type")),
        ("h1 { color: red }", Some("text/css; charset=utf-8"))
    );
    // and the tarball is what `mix hex.docs fetch` unpacks for reading offline
    let mirror = format!("{}/repo", server.url);
    let fetched = text(&mix.run(&greeter, &["hex.docs", "fetch", "greeter", "1.0.0"], &[("HEX_MIRROR", &mirror)]));
    let offline = mix.home.path().join("hex/docs/hexpm/greeter/1.0.0");
    assert_eq!(
        std::fs::read_to_string(offline.join("index.html")).ok().as_deref(),
        Some("<h1>greeter</h1>"),
        "{fetched}"
    );
    assert_eq!(std::fs::read_to_string(offline.join("dist/app.css")).unwrap(), "h1 { color: red }");

    // the docs alone, again, replace the first ones on the site
    std::fs::write(greeter.join("mix.exs"), WITH_DOCS.replace("<h1>greeter</h1>", "<h1>greeter, again</h1>")).unwrap();
    let again = text(&mix.run(&greeter, &["hex.publish", "docs", "--yes"], &env));
    assert!(again.contains("releases/1.0.0/docs\") => 201"), "{again}");
    assert_eq!(get(&site, &[]).text(), "<h1>greeter, again</h1>");
}

pub(crate) fn docs_of(entries: &[Raw<'_>]) -> Vec<u8> {
    gzip(&raw_tar(entries))
}

/// Files under `dir` named `name`, at any depth.
pub fn files_named(dir: &std::path::Path, name: &str) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_named(&path, name));
        } else if entry.file_name() == name {
            found.push(path);
        }
    }
    found
}

pub(crate) fn upload(server: &Server, key: &str, path: &str, body: &[u8]) -> Response {
    request("POST", &server.api(path), &[("authorization", key)], Some(body))
}

#[test]
fn docs_tarballs_are_checked_kept_and_removed() {
    let server = Server::start("hexyard");
    let ann = server.user_with_key("ann", &[]);
    let bob = server.user_with_key("bob", &[]);
    assert_eq!(server.publish(&ann, &tarball("plug", "1.0.0", &[]), false).status, 201);
    let docs = "/packages/plug/releases/1.0.0/docs";
    let index = || file(b"index.html", b"x");
    let special = |name: &'static [u8], kind, link: &'static [u8]| Raw { name, kind, data: b"", link };
    let zeros = vec![0u8; 32 << 20];
    for (what, body, says) in [
        ("no index.html", docs_of(&[file(b"readme.html", b"x")]), "missing files: index.html"),
        ("a path out of the tree", docs_of(&[index(), file(b"../evil.html", b"x")]), "unsafe path"),
        ("an absolute path", docs_of(&[index(), file(b"/tmp/evil.html", b"x")]), "unsafe path"),
        ("a symlink", docs_of(&[index(), special(b"evil", tar::EntryType::Symlink, b"/etc/passwd")]), "is a symlink"),
        ("a hard link", docs_of(&[index(), special(b"evil", tar::EntryType::Link, b"index.html")]), "is a hard link"),
        ("a device", docs_of(&[index(), special(b"evil", tar::EntryType::Char, b"")]), "is a character device"),
        ("a fifo", docs_of(&[index(), special(b"evil", tar::EntryType::Fifo, b"")]), "is a fifo"),
        ("a gzip bomb", docs_of(&[index(), file(b"zeros", &zeros)]), "compression ratio over 100:1"),
        ("a version's name at the top", docs_of(&[index(), file(b"2.0.0/index.html", b"x")]), "named like a version"),
        ("not gzip", raw_tar(&[index()]), "invalid tarball"),
        ("empty", Vec::new(), "empty tarball"),
    ] {
        let refused = upload(&server, &ann, docs, &body);
        assert_eq!(refused.status, 422, "{what}: {}", refused.text());
        let message = refused.json()["errors"]["tar"].as_str().unwrap_or_default().to_owned();
        assert!(message.contains(says), "{what}: {message}");
    }
    assert!(
        files_named(server.data_dir(), "evil").is_empty() && files_named(server.data_dir(), "evil.html").is_empty()
    );
    assert_eq!(get(&server.api("/packages/plug/releases/1.0.0"), &[]).json()["has_docs"], false, "nothing stored");
    let good = gzip(&raw_tar(&[file(b"index.html", b"<h1>plug</h1>"), file(b"dist/app.js", b"1")]));
    assert_eq!(upload(&server, &bob, docs, &good).status, 403, "not an owner");
    // mix asks first (Expect: 100-continue): refused before the body is sent
    for (key, path, status) in [
        (&bob, format!("/api{docs}"), "403"),
        (&ann, "/api/packages/plug/releases/9.9.9/docs".to_owned(), "404"),
        (&ann, format!("/api{docs}"), "100 Continue"),
    ] {
        let (_, answer) = crate::hostile::expect_continue_at(&server, &path, key, good.len(), &[]);
        assert!(answer.starts_with(&format!("HTTP/1.1 {status}")), "{path}: {answer}");
    }
    assert_eq!(upload(&server, &ann, "/packages/plug/releases/9.9.9/docs", &good).status, 404);
    let stored = upload(&server, &ann, docs, &good);
    assert_eq!(stored.status, 201, "{}", stored.text());
    let url = format!("{}/repo/docs/plug-1.0.0.tar.gz", server.url);
    assert_eq!(stored.header("location"), Some(url.as_str()));
    assert_eq!(get(&url, &[]).body, good, "byte for byte as uploaded");
    let redirect = get(&server.api(docs), &[]);
    assert_eq!((redirect.status, redirect.header("location")), (302, Some(url.as_str())));

    let removed = request("DELETE", &server.api(docs), &[("authorization", &ann)], None);
    assert_eq!(removed.status, 204);
    assert_eq!(get(&url, &[]).status, 404);
    assert_eq!(get(&server.api("/packages/plug/releases/1.0.0"), &[]).json()["has_docs"], false);
    assert_eq!(request("DELETE", &server.api(docs), &[("authorization", &ann)], None).status, 404);

    // a revert takes the docs with the release
    assert_eq!(upload(&server, &ann, docs, &good).status, 201);
    assert_eq!(
        request("DELETE", &server.api("/packages/plug/releases/1.0.0"), &[("authorization", &ann)], None).status,
        204
    );
    assert_eq!(get(&url, &[]).status, 404);
    let actions: Vec<String> = get(&server.api("/users/me/audit-logs"), &[("authorization", &ann)])
        .json()
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str().map(str::to_owned))
        .collect();
    assert!(actions.contains(&"docs.publish".to_owned()) && actions.contains(&"docs.revoke".to_owned()), "{actions:?}");
}

#[test]
fn an_organization_s_docs_are_for_its_members_only() {
    let server = Server::start("hexyard");
    user_with_password(&server, "ann", "ann's long password");
    user_with_password(&server, "bob", "bob's long password");
    let ann = server.admin(&["key", "create", "ann", "main"]);
    let outsider = server.admin(&["key", "create", "bob", "main"]);
    server.admin(&["org", "create", "acme", "--owner", "ann"]);
    let published = server.publish_to("acme", &ann, &tarball("secret", "1.0.0", &[]));
    assert_eq!(published.status, 201);
    let good = gzip(&raw_tar(&[file(b"index.html", b"<h1>secret</h1>")]));
    let docs = "/repos/acme/packages/secret/releases/1.0.0/docs";
    assert_eq!(upload(&server, &outsider, docs, &good).status, 404);
    assert_eq!(upload(&server, &ann, docs, &good).status, 201);
    let url = format!("{}/repo/repos/acme/docs/secret-1.0.0.tar.gz", server.url);
    assert_eq!(get(&url, &[("authorization", &ann)]).body, good);
    for who in [None, Some(outsider.as_str())] {
        let headers: Vec<(&str, &str)> = who.map(|k| ("authorization", k)).into_iter().collect();
        assert_eq!(get(&url, &headers).status, 404, "the tarball, as {who:?}");
        assert_eq!(get(&server.api(docs), &headers).status, 404, "the API, as {who:?}");
    }
    assert_eq!(get(&server.api(docs), &[("authorization", &ann)]).status, 302);

    // the site: a member with a key or signed in; nobody else, not even by the public path
    let site = format!("{}/repos/acme/docs/secret/", server.url);
    let release = get(&server.api("/repos/acme/packages/secret/releases/1.0.0"), &[("authorization", &ann)]).json();
    assert_eq!(release["docs_html_url"], format!("{site}1.0.0/"));
    let page = get(&site, &[("authorization", &ann)]);
    assert_eq!((page.status, page.text().as_str()), (200, "<h1>secret</h1>"));
    assert_eq!(page.header("cache-control"), Some("private, max-age=3600"));
    let mut member = Browser::new();
    member.sign_in(&server, "ann", "ann's long password");
    assert_eq!(member.get(&format!("{site}1.0.0/index.html")).text(), "<h1>secret</h1>");
    let mut stranger = Browser::new();
    stranger.sign_in(&server, "bob", "bob's long password");
    for url in [site.clone(), format!("{site}1.0.0/index.html"), format!("{site}docs_config.js")] {
        assert_eq!(get(&url, &[]).status, 404, "anonymous: {url}");
        assert_eq!(get(&url, &[("authorization", &outsider)]).status, 404, "an outsider's key: {url}");
        assert_eq!(stranger.get(&url).status, 404, "an outsider signed in: {url}");
    }
    assert_eq!(get(&format!("{}/docs/secret/", server.url), &[("authorization", &ann)]).status, 404);
}

/// Publishes `plug` at `version` with docs whose pages name the version.
fn publish_with_docs(server: &Server, key: &str, version: &str) {
    assert_eq!(server.publish(key, &tarball("plug", version, &[]), false).status, 201);
    let page = format!("<h1>plug {version}</h1>");
    let body = docs_of(&[
        file(b"index.html", page.as_bytes()),
        file(b"dist/app.js", b"window.plug = 1;"),
        file(b"dist/logo.svg", b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>"),
        file(b"guides/index.html", b"<h1>guides</h1>"),
    ]);
    let path = format!("/packages/plug/releases/{version}/docs");
    assert_eq!(upload(server, key, &path, &body).status, 201, "{version}");
}

#[test]
fn the_docs_site_serves_every_version_and_the_latest() {
    let server = Server::start("hexyard");
    let ann = server.user_with_key("ann", &[]);
    for version in ["1.0.0", "1.1.0", "2.0.0-rc.1"] {
        publish_with_docs(&server, &ann, version);
    }
    let site = format!("{}/docs/plug", server.url);
    let body = |url: &str| {
        let page = get(url, &[]);
        assert_eq!(page.status, 200, "{url}");
        page.text()
    };
    assert_eq!(body(&format!("{site}/1.0.0/")), "<h1>plug 1.0.0</h1>");
    assert_eq!(body(&format!("{site}/2.0.0-rc.1/index.html")), "<h1>plug 2.0.0-rc.1</h1>");
    assert_eq!(body(&format!("{site}/")), "<h1>plug 1.1.0</h1>", "the latest stable version");
    assert_eq!(body(&format!("{site}/guides/")), "<h1>guides</h1>");
    for (path, to) in
        [("", "/docs/plug/"), ("/1.0.0", "/docs/plug/1.0.0/"), ("/1.0.0/guides", "/docs/plug/1.0.0/guides/")]
    {
        let moved = get(&format!("{site}{path}"), &[]);
        assert_eq!((moved.status, moved.header("location")), (301, Some(to)), "{path}");
    }
    for (path, content_type) in [
        ("/1.0.0/dist/app.js", "text/javascript; charset=utf-8"),
        ("/1.0.0/dist/logo.svg", "image/svg+xml"),
        ("/1.0.0/guides/index.html", "text/html; charset=utf-8"),
    ] {
        let file = get(&format!("{site}{path}"), &[]);
        assert_eq!(file.header("content-type"), Some(content_type), "{path}");
        // an SVG opened on its own runs its scripts: sandboxed like the HTML
        assert!(file.header("content-security-policy").unwrap().starts_with("sandbox allow-scripts"), "{path}");
        assert!(!file.header("content-security-policy").unwrap().contains("allow-same-origin"), "{path}");
        assert_eq!(file.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(file.header("cache-control"), Some("public, max-age=3600"));
        let etag = file.header("etag").unwrap();
        assert_eq!(get(&format!("{site}{path}"), &[("if-none-match", etag)]).status, 304, "{path}");
    }
    for path in ["/1.0.0/missing.html", "/3.0.0/index.html", "/1.0.0/dist"] {
        assert_eq!(get(&format!("{site}{path}"), &[]).status, 404, "{path}");
    }
    assert_eq!(get(&format!("{}/docs/nothing/", server.url), &[]).status, 404);

    // the version switcher's list, as hexdocs writes it, at both roots
    let retire = request(
        "POST",
        &server.api("/packages/plug/releases/1.0.0/retire"),
        &[("authorization", &ann), ("content-type", "application/json")],
        Some(br#"{"reason": "security", "message": "use 1.1.0"}"#),
    );
    assert_eq!(retire.status, 204, "{}", retire.text());
    let config = body(&format!("{site}/docs_config.js"));
    let list = config.strip_prefix("var versionNodes = ").and_then(|c| c.trim_end().strip_suffix(';')).unwrap();
    let nodes: serde_json::Value = serde_json::from_str(list).unwrap();
    assert_eq!(
        nodes,
        serde_json::json!([
            {"version": "v2.0.0-rc.1", "url": format!("{site}/2.0.0-rc.1")},
            {"version": "v1.1.0", "url": format!("{site}/1.1.0"), "latest": true},
            {"version": "v1.0.0", "url": format!("{site}/1.0.0"), "retired": true},
        ])
    );
    assert_eq!(body(&format!("{site}/1.0.0/docs_config.js")), config);

    // new docs for a version are served at once; a reverted version's docs go with it
    let replaced = docs_of(&[file(b"index.html", b"<h1>plug 1.1.0, corrected</h1>")]);
    assert_eq!(upload(&server, &ann, "/packages/plug/releases/1.1.0/docs", &replaced).status, 201);
    assert_eq!(body(&format!("{site}/")), "<h1>plug 1.1.0, corrected</h1>");
    let revert = request("DELETE", &server.api("/packages/plug/releases/1.1.0"), &[("authorization", &ann)], None);
    assert_eq!(revert.status, 204);
    assert_eq!(body(&format!("{site}/")), "<h1>plug 1.0.0</h1>", "the latest stable version left");
    assert_eq!(get(&format!("{site}/1.1.0/"), &[]).status, 404);
}

/// A docs page that tries to act as its reader: read the registry's cookies, call its API.
const HOSTILE_PAGE: &str = r#"<!doctype html><title>probe</title><pre id="out"></pre><script>
const seen = {};
try { seen.cookie = "read: " + document.cookie; } catch (e) { seen.cookie = e.name; }
try { seen.storage = "read: " + localStorage.length; } catch (e) { seen.storage = e.name; }
const call = (url) => fetch(url, {credentials: "include"})
  .then(r => r.text().then(t => "status " + r.status + ": " + t), e => e.name);
Promise.all([call("/api/users/me"), call("/api/packages")]).then(([me, packages]) => {
  Object.assign(seen, {me, packages});
  document.getElementById("out").textContent = JSON.stringify(seen);
});
</script>"#;

/// The same probe, run in a document of the registry's own origin (what the sandbox takes away).
const PROBE: &str = r#"const done = arguments[0];
let cookie; try { cookie = "read: " + document.cookie; } catch (e) { cookie = e.name; }
fetch("/api/packages", {credentials: "include"})
  .then(r => done({cookie, packages: "status " + r.status}), e => done({cookie, packages: e.name}));"#;

#[test]
fn docs_cannot_act_as_their_reader_in_a_real_browser() {
    let server = Server::start("hexyard");
    user_with_password(&server, "ann", "ann's long password");
    let ann = server.admin(&["key", "create", "ann", "main"]);
    assert_eq!(server.publish(&ann, &tarball("plug", "1.0.0", &[]), false).status, 201);
    let docs = docs_of(&[file(b"index.html", HOSTILE_PAGE.as_bytes())]);
    assert_eq!(upload(&server, &ann, "/packages/plug/releases/1.0.0/docs", &docs).status, 201);

    let chrome = crate::chrome::Chrome::start();
    chrome.goto(&format!("{}/login", server.url));
    chrome.submit(&[("username", "ann"), ("password", "ann's long password")]);
    let session = chrome.run(chrome.client.get_named_cookie("hexyard_session")).expect("signed in");
    assert!(session.http_only().unwrap_or(false));

    // in a document of the registry's own origin (an API answer: the pages forbid scripts any
    // connection) the probe reads the API's answers and reads cookies without error (the
    // session's is HttpOnly)
    chrome.goto(&server.api("/packages"));
    let own = chrome.run(chrome.client.execute_async(PROBE, vec![])).unwrap();
    assert_eq!(own, serde_json::json!({"cookie": "read: ", "packages": "status 200"}));

    // the docs page runs its script in an opaque origin: no cookies, no storage, no answers
    chrome.goto(&format!("{}/docs/plug/1.0.0/", server.url));
    let seen: serde_json::Value = serde_json::from_str(&chrome.text_of("#out")).unwrap();
    assert_eq!(
        seen,
        serde_json::json!({"cookie": "SecurityError", "storage": "SecurityError", "me": "TypeError", "packages": "TypeError"})
    );
}

//! Docs uploads (issue 10, first part): what `mix hex.publish` sends after the package, kept as
//! uploaded and served at `/repo/docs/NAME-VERSION.tar.gz`; hostile docs tarballs refused.

use crate::mix::{Mix, text};
use crate::support::*;
use hexyard_tarball::testing::{file, gzip, raw_tar};

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
    File.mkdir_p!("doc")
    File.write!("doc/index.html", "<h1>greeter</h1>")
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
    assert_eq!(get(&server.api("/packages/greeter/releases/1.0.0"), &[]).json()["has_docs"], true);
    // the docs alone, again
    std::fs::write(greeter.join("lib/extra.ex"), "defmodule Extra do\nend\n").unwrap();
    let again = text(&mix.run(&greeter, &["hex.publish", "docs", "--yes"], &env));
    assert!(again.contains("releases/1.0.0/docs\") => 201"), "{again}");
}

fn upload(server: &Server, key: &str, path: &str, body: &[u8]) -> Response {
    request("POST", &server.api(path), &[("authorization", key)], Some(body))
}

#[test]
fn docs_tarballs_are_checked_kept_and_removed() {
    let server = Server::start("hexyard");
    let ann = server.user_with_key("ann", &[]);
    let bob = server.user_with_key("bob", &[]);
    assert_eq!(server.publish(&ann, &tarball("plug", "1.0.0", &[]), false).status, 201);
    let docs = "/packages/plug/releases/1.0.0/docs";
    for (what, body) in [
        ("no index.html", gzip(&raw_tar(&[file(b"readme.html", b"x")]))),
        ("a path out of the tree", gzip(&raw_tar(&[file(b"index.html", b"x"), file(b"../evil.html", b"x")]))),
        ("an absolute path", gzip(&raw_tar(&[file(b"index.html", b"x"), file(b"/etc/evil", b"x")]))),
        ("not gzip", raw_tar(&[file(b"index.html", b"x")])),
    ] {
        let refused = upload(&server, &ann, docs, &body);
        assert_eq!(refused.status, 422, "{what}: {}", refused.text());
        assert!(refused.json()["errors"]["tar"].is_string(), "{what}");
    }
    let good = gzip(&raw_tar(&[file(b"index.html", b"<h1>plug</h1>"), file(b"dist/app.js", b"1")]));
    assert_eq!(upload(&server, &bob, docs, &good).status, 403, "not an owner");
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
    let ann = server.user_with_key("ann", &[]);
    let outsider = server.user_with_key("bob", &[]);
    server.admin(&["org", "create", "acme", "--owner", "ann"]);
    let published = request(
        "POST",
        &server.api("/repos/acme/publish"),
        &[("authorization", &ann)],
        Some(&tarball("secret", "1.0.0", &[])),
    );
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
}

//! After the first publish: retiring, unretiring and reverting releases with the real mix
//! client and with hex_core (from rebar3), then the signed registry checked with the change in
//! it; and the rules (the revert window, owners, bad input) over HTTP.

use serde_json::json;

use crate::mix::{Mix, text};
use crate::support::*;

fn package_mix_exs(version: &str) -> String {
    format!(
        r#"defmodule Greeter.MixProject do
  use Mix.Project

  def project do
    [
      app: :greeter,
      version: "{version}",
      description: "Says hello",
      package: [licenses: ["MIT"], links: %{{"Home" => "https://example.com/greeter"}}],
      deps: []
    ]
  end
end
"#
    )
}

/// The signed `/repo/packages/NAME`, verified and decoded; `None` when it is gone.
fn signed_package(server: &Server, name: &str) -> Option<hexyard_registry::proto::package::Package> {
    let resp = get(&format!("{}/repo/packages/{name}", server.url), &[]);
    if resp.status == 404 {
        return None;
    }
    let key = hexyard_registry::VerifyingKey::from_pem(&server.public_key()).unwrap();
    Some(hexyard_registry::decode_package(&resp.body, &key, &server.repository, name).unwrap())
}

fn retired_versions(server: &Server, name: &str) -> Vec<(String, i32, Option<String>)> {
    signed_package(server, name)
        .unwrap()
        .releases
        .into_iter()
        .filter_map(|r| r.retired.map(|t| (r.version, t.reason, t.message)))
        .collect()
}

#[test]
fn mix_retires_unretires_and_reverts() {
    let server = Server::start("hexyard");
    let key = server.user_with_key("mia", &[]);
    let mix = Mix::new();
    let api = server.api("");
    let env = [("HEX_API_URL", api.as_str()), ("HEX_API_KEY", key.as_str())];
    let greeter = mix.project("greeter", &package_mix_exs("1.0.0"));
    assert!(text(&mix.run(&greeter, &["hex.publish", "package", "--yes"], &env)).contains("Package published"));
    std::fs::write(greeter.join("mix.exs"), package_mix_exs("1.1.0")).unwrap();
    assert!(text(&mix.run(&greeter, &["hex.publish", "package", "--yes"], &env)).contains("Package published"));

    let retired =
        mix.run(&greeter, &["hex.retire", "greeter", "1.0.0", "deprecated", "--message", "use greeter 1.1"], &env);
    assert!(text(&retired).contains("greeter 1.0.0 has been retired"), "{}", text(&retired));
    assert_eq!(retired_versions(&server, "greeter"), [("1.0.0".to_owned(), 3, Some("use greeter 1.1".to_owned()))]);
    let release = get(&server.api("/packages/greeter/releases/1.0.0"), &[]).json();
    assert_eq!(release["retirement"], json!({"reason": "deprecated", "message": "use greeter 1.1"}));
    let package = get(&server.api("/packages/greeter"), &[]).json();
    assert_eq!(package["retirements"]["1.0.0"]["reason"], "deprecated");

    // a project pinned to the retired release is warned, and the audit lists it
    let added = mix.run(
        mix.home.path(),
        &["hex.repo", "add", "hexyard", &format!("{}/repo", server.url), "--public-key", &write_key(&mix, &server)],
        &[],
    );
    assert!(added.status.success(), "{}", text(&added));
    let app = mix.project(
        "app",
        r#"defmodule App.MixProject do
  use Mix.Project
  def project, do: [app: :app, version: "0.1.0", deps: [{:greeter, "1.0.0", repo: "hexyard"}]]
end
"#,
    );
    let fetched = text(&mix.run(&app, &["deps.get"], &[]));
    assert!(fetched.contains("RETIRED!") && fetched.contains("(deprecated) use greeter 1.1"), "{fetched}");
    let audit = text(&mix.run(&app, &["hex.audit"], &[]));
    assert!(audit.contains("greeter 1.0.0") && audit.contains("(deprecated) use greeter 1.1"), "{audit}");

    let unretired = mix.run(&greeter, &["hex.retire", "greeter", "1.0.0", "--unretire"], &env);
    assert!(text(&unretired).contains("has been unretired"), "{}", text(&unretired));
    assert!(retired_versions(&server, "greeter").is_empty());

    // reverting the newest release leaves the older one; reverting that one the package
    let reverted = mix.run(&greeter, &["hex.publish", "--revert", "1.1.0"], &env);
    assert!(text(&reverted).contains("Reverted greeter 1.1.0"), "{}", text(&reverted));
    let versions: Vec<String> =
        signed_package(&server, "greeter").unwrap().releases.into_iter().map(|r| r.version).collect();
    assert_eq!(versions, ["1.0.0"]);
    assert_eq!(get(&format!("{}/repo/tarballs/greeter-1.1.0.tar", server.url), &[]).status, 404);
    assert_eq!(get(&server.api("/packages/greeter/releases/1.1.0"), &[]).status, 404);
    assert!(text(&mix.run(&greeter, &["hex.publish", "--revert", "1.0.0"], &env)).contains("Reverted greeter 1.0.0"));
    assert!(signed_package(&server, "greeter").is_none());
    assert_eq!(get(&server.api("/packages/greeter"), &[]).status, 404);
    assert_eq!(get(&format!("{}/repo/tarballs/greeter-1.0.0.tar", server.url), &[]).status, 404);
    // the index follows within a second
    std::thread::sleep(std::time::Duration::from_millis(1200));
    let names = get(&format!("{}/repo/names", server.url), &[]).body;
    let verifying = hexyard_registry::VerifyingKey::from_pem(&server.public_key()).unwrap();
    let decoded = hexyard_registry::decode_names(&names, &verifying, &server.repository).unwrap();
    assert!(decoded.packages.iter().all(|p| p.name != "greeter"), "{decoded:?}");
    assert_eq!(server.psql("SELECT count(*) FROM releases").trim(), "0");
    let audit = get(&server.api("/users/me/audit-logs"), &[("authorization", &key)]).json();
    let actions: Vec<&str> = audit.as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    for action in ["release.retire", "release.unretire", "release.revert"] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
}

fn write_key(mix: &Mix, server: &Server) -> String {
    let path = mix.home.path().join("hexyard.pem");
    std::fs::write(&path, server.public_key()).unwrap();
    path.display().to_string()
}

#[test]
fn hex_core_retires_unretires_and_reverts() {
    let server = Server::start("acme");
    let key = server.user_with_key("erlanger", &[]);
    for version in ["1.0.0", "1.1.0"] {
        assert_eq!(server.publish(&key, &tarball("lib_a", version, &[]), false).status, 201);
    }
    let code = format!(
        r#"
        {{ok, _}} = application:ensure_all_started(inets),
        Config = maps:merge(r3_hex_core:default_config(), #{{
            api_url => {api}, api_key => {key},
            repo_url => {repo}, repo_name => <<"acme">>, repo_public_key => {pem}}}),
        Retire = #{{<<"reason">> => <<"security">>, <<"message">> => <<"CVE-2026-0001">>}},
        {{ok, {{S1, _, _}}}} = r3_hex_api_release:retire(Config, <<"lib_a">>, <<"1.0.0">>, Retire),
        {{ok, {{200, _, Rs}}}} = r3_hex_repo:get_package(Config, <<"lib_a">>),
        Retired = [{{maps:get(version, R), maps:get(retired, R)}} || R <- Rs, maps:is_key(retired, R)],
        io:format("retire ~p ~p~n", [S1, Retired]),
        {{ok, {{S2, _, _}}}} = r3_hex_api_release:unretire(Config, <<"lib_a">>, <<"1.0.0">>),
        {{ok, {{200, _, Rs2}}}} = r3_hex_repo:get_package(Config, <<"lib_a">>),
        io:format("unretire ~p ~p~n", [S2, [V || #{{version := V}} = R <- Rs2, maps:is_key(retired, R)]]),
        {{ok, {{S3, _, _}}}} = r3_hex_api_release:delete(Config, <<"lib_a">>, <<"1.1.0">>),
        {{ok, {{200, _, Rs3}}}} = r3_hex_repo:get_package(Config, <<"lib_a">>),
        io:format("revert ~p ~p~n", [S3, [maps:get(version, R) || R <- Rs3]]),
        halt().
        "#,
        api = erl_bin(&server.api("")),
        key = erl_bin(&key),
        repo = erl_bin(&format!("{}/repo", server.url)),
        pem = erl_bin(&server.public_key()),
    );
    let out = erl(&code);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    // Erlang wraps long terms: compare without whitespace
    let flat: String = stdout.split_whitespace().collect();
    let retired = r#"retire204[{<<"1.0.0">>,#{message=><<"CVE-2026-0001">>,reason=>'RETIRED_SECURITY'}}]"#;
    assert!(flat.contains(retired), "{stdout}");
    assert!(stdout.contains("unretire 204 []"), "{stdout}");
    assert!(stdout.contains("revert 204 [<<\"1.0.0\">>]"), "{stdout}");
}

#[test]
fn revert_and_retire_rules() {
    let server = Server::start("hexyard");
    let owner = server.user_with_key("ann", &[]);
    let other = server.user_with_key("bob", &[]);
    let reader = server.admin(&["key", "create", "ann", "reader", "--permission", "api:read"]);
    assert_eq!(server.publish(&owner, &tarball("base", "1.0.0", &[]), false).status, 201);
    assert_eq!(server.publish(&owner, &tarball("dep", "1.0.0", &[("base", "~> 1.0", None)]), false).status, 201);
    let send = |method: &str, path: &str, key: &str, body: Option<serde_json::Value>| {
        let body = body.map(|b| b.to_string());
        request(
            method,
            &server.api(path),
            &[("authorization", key), ("content-type", "application/json")],
            body.as_deref().map(str::as_bytes),
        )
    };
    let retire =
        |key: &str, body: serde_json::Value| send("POST", "/packages/base/releases/1.0.0/retire", key, Some(body));

    assert_eq!(retire(&other, json!({"reason": "security"})).status, 403, "not an owner");
    assert_eq!(retire(&reader, json!({"reason": "security"})).status, 401, "a read key");
    let bad = retire(&owner, json!({"reason": "bored"}));
    assert_eq!((bad.status, bad.json()["errors"]["reason"].is_string()), (422, true));
    let long = retire(&owner, json!({"reason": "other", "message": "x".repeat(141)}));
    assert_eq!((long.status, long.json()["errors"]["message"].is_string()), (422, true));
    assert_eq!(
        send("POST", "/packages/base/releases/9.9.9/retire", &owner, Some(json!({"reason": "other"}))).status,
        404
    );
    assert_eq!(
        send("POST", "/packages/nothing/releases/1.0.0/retire", &owner, Some(json!({"reason": "other"}))).status,
        404
    );
    assert_eq!(retire(&owner, json!({"reason": "invalid", "message": "broken build"})).status, 204);

    // the last release of a package others depend on stays
    let depended = send("DELETE", "/packages/base/releases/1.0.0", &owner, None);
    assert_eq!(depended.status, 422, "{}", depended.text());
    assert_eq!(depended.json()["errors"]["name"], "you cannot delete this package because other packages depend on it");
    assert_eq!(send("DELETE", "/packages/dep/releases/1.0.0", &other, None).status, 403);
    // past the window: an hour after publishing, a day after the package's creation
    server.psql("UPDATE releases SET inserted_at = now() - interval '2 hours'");
    server.psql("UPDATE packages SET inserted_at = now() - interval '2 days'");
    let late = send("DELETE", "/packages/dep/releases/1.0.0", &owner, None);
    assert_eq!(late.status, 422);
    assert_eq!(late.json()["errors"]["inserted_at"], "can only delete a release up to one hour after publication");
    // retiring has no window
    assert_eq!(send("DELETE", "/packages/base/releases/1.0.0/retire", &owner, None).status, 204);
    assert_eq!(get(&server.api("/packages/dep/releases/1.0.0"), &[]).status, 200, "nothing half-done");
}

#[test]
fn an_organization_reverts_without_a_window_and_hides_its_packages() {
    let server = Server::start("hexyard");
    let ann = server.user_with_key("ann", &[]);
    let outsider = server.user_with_key("bob", &[]);
    server.admin(&["org", "create", "acme", "--owner", "ann"]);
    let publish = request(
        "POST",
        &server.api("/repos/acme/publish"),
        &[("authorization", &ann)],
        Some(&tarball("secret", "1.0.0", &[])),
    );
    assert_eq!(publish.status, 201, "{}", publish.text());
    server.psql("UPDATE releases SET inserted_at = now() - interval '3 days'");
    server.psql("UPDATE packages SET inserted_at = now() - interval '3 days'");
    let path = server.api("/repos/acme/packages/secret/releases/1.0.0");
    assert_eq!(request("DELETE", &path, &[("authorization", &outsider)], None).status, 404, "outsiders see nothing");
    assert_eq!(request("DELETE", &path, &[("authorization", &ann)], None).status, 204, "no window in an organization");
    assert_eq!(get(&server.api("/repos/acme/packages/secret"), &[("authorization", &ann)]).status, 404);
}

fn owner_levels(server: &Server, key: &str, package: &str) -> Vec<(String, String)> {
    let owners = get(&server.api(&format!("/packages/{package}/owners")), &[("authorization", key)]).json();
    owners
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["username"].as_str().unwrap().to_owned(), o["level"].as_str().unwrap().to_owned()))
        .collect()
}

#[test]
fn mix_manages_owners_and_a_second_owner_publishes() {
    let server = Server::start("hexyard");
    let mia = server.user_with_key("mia", &[]);
    let tom = server.user_with_key("tom", &[]);
    let mix = Mix::new();
    let api = server.api("");
    let as_mia = [("HEX_API_URL", api.as_str()), ("HEX_API_KEY", mia.as_str())];
    let as_tom = [("HEX_API_URL", api.as_str()), ("HEX_API_KEY", tom.as_str())];
    let greeter = mix.project("greeter", &package_mix_exs("1.0.0"));
    assert!(text(&mix.run(&greeter, &["hex.publish", "package", "--yes"], &as_mia)).contains("Package published"));

    let added = mix.run(&greeter, &["hex.owner", "add", "greeter", "tom", "--level", "maintainer"], &as_mia);
    assert!(text(&added).contains("=> 204"), "{}", text(&added));
    assert_eq!(
        owner_levels(&server, &mia, "greeter"),
        [("mia".into(), "full".into()), ("tom".into(), "maintainer".into())]
    );
    let listed = text(&mix.run(&greeter, &["hex.owner", "list", "greeter"], &as_mia));
    assert!(listed.contains("maintainer") && listed.contains("full"), "{listed}");
    // the new owner publishes a new version
    std::fs::write(greeter.join("mix.exs"), package_mix_exs("1.1.0")).unwrap();
    let by_tom = text(&mix.run(&greeter, &["hex.publish", "package", "--yes"], &as_tom));
    assert!(by_tom.contains("Package published"), "{by_tom}");
    assert_eq!(get(&server.api("/packages/greeter"), &[]).json()["latest_version"], "1.1.0");
    // a maintainer does not manage owners
    let denied = request(
        "PUT",
        &server.api("/packages/greeter/owners/tom"),
        &[("authorization", &tom), ("content-type", "application/json")],
        Some(br#"{"level":"full"}"#),
    );
    assert_eq!(denied.status, 403);

    let removed = mix.run(&greeter, &["hex.owner", "remove", "greeter", "tom"], &as_mia);
    assert!(text(&removed).contains("=> 204"), "{}", text(&removed));
    assert_eq!(owner_levels(&server, &mia, "greeter"), [("mia".into(), "full".into())]);
    let transferred = mix.run(&greeter, &["hex.owner", "transfer", "greeter", "tom"], &as_mia);
    assert!(text(&transferred).contains("=> 204"), "{}", text(&transferred));
    assert_eq!(owner_levels(&server, &tom, "greeter"), [("tom".into(), "full".into())]);
    std::fs::write(greeter.join("mix.exs"), package_mix_exs("1.2.0")).unwrap();
    let by_mia =
        request("POST", &server.api("/publish"), &[("authorization", &mia)], Some(&tarball("greeter", "1.2.0", &[])));
    assert_eq!(by_mia.status, 403, "the old owner no longer publishes");

    let audit = get(&server.api("/packages/greeter/audit-logs"), &[("authorization", &tom)]).json();
    let actions: Vec<&str> = audit.as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    for action in ["owner.add", "owner.remove", "owner.transfer"] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
    // tom was told by mail, twice (added, then made the only owner), and once of the removal
    let mails: Vec<String> = std::fs::read_dir(server.data_dir().join("mail"))
        .unwrap()
        .flatten()
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .filter(|m| m.contains("To: tom@example.com"))
        .collect();
    assert_eq!(mails.len(), 3, "{mails:?}");
    assert!(mails.iter().any(|m| m.contains("no longer an owner of greeter")));
}

#[test]
fn owner_rules() {
    let server = Server::start("hexyard");
    let ann = server.user_with_key("ann", &[]);
    server.user_with_key("bob", &[]);
    assert_eq!(server.publish(&ann, &tarball("plug", "1.0.0", &[]), false).status, 201);
    let put = |who: &str, body: &str| {
        request(
            "PUT",
            &server.api(&format!("/packages/plug/owners/{who}")),
            &[("authorization", &ann), ("content-type", "application/json")],
            Some(body.as_bytes()),
        )
    };
    assert_eq!(put("nobody", r#"{"level":"full"}"#).status, 404, "an unknown user");
    let bad = put("bob", r#"{"level":"owner"}"#);
    assert_eq!((bad.status, bad.json()["errors"]["level"].is_string()), (422, true));
    let last = request("DELETE", &server.api("/packages/plug/owners/ann"), &[("authorization", &ann)], None);
    assert_eq!(
        (last.status, last.json()["errors"]["owner"].as_str()),
        (422, Some("cannot remove the last full owner"))
    );
    let demote = put("ann", r#"{"level":"maintainer"}"#);
    assert_eq!(demote.status, 422, "{}", demote.text());
    assert_eq!(put("bob@example.com", r#"{"level":"maintainer"}"#).status, 204, "by email");
    assert_eq!(get(&server.api("/packages/plug/owners/bob"), &[("authorization", &ann)]).json()["level"], "maintainer");
    assert_eq!(get(&server.api("/packages/plug"), &[]).json()["owners"].as_array().unwrap().len(), 2);

    // an organization's package has no owners; outsiders do not see it at all
    server.admin(&["org", "create", "acme", "--owner", "ann"]);
    let publish = request(
        "POST",
        &server.api("/repos/acme/publish"),
        &[("authorization", &ann)],
        Some(&tarball("secret", "1.0.0", &[])),
    );
    assert_eq!(publish.status, 201);
    let org_put =
        request("PUT", &server.api("/repos/acme/packages/secret/owners/bob"), &[("authorization", &ann)], Some(b"{}"));
    assert_eq!(org_put.status, 422, "{}", org_put.text());
    let bob = server.admin(&["key", "create", "bob", "second"]);
    assert_eq!(get(&server.api("/repos/acme/packages/secret/owners"), &[("authorization", &bob)]).status, 404);
}

/// Waits until the running server serves what an admin command stored (it hears of it through
/// Postgres), at most a few seconds.
fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !check() {
        assert!(std::time::Instant::now() < deadline, "{what}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn the_operator_retires_reverts_and_manages_owners_from_the_command_line() {
    let server = Server::start("hexyard");
    let ann = server.user_with_key("ann", &[]);
    server.user_with_key("bob", &[]);
    for version in ["1.0.0", "1.1.0"] {
        assert_eq!(server.publish(&ann, &tarball("plug", version, &[]), false).status, 201);
    }
    server.admin(&["package", "retire", "plug", "1.0.0", "security", "--message", "CVE-2026-7"]);
    eventually("the server serves the retirement", || {
        retired_versions(&server, "plug") == [("1.0.0".to_owned(), 2, Some("CVE-2026-7".to_owned()))]
    });
    server.admin(&["package", "unretire", "plug", "1.0.0"]);
    eventually("the server serves the unretirement", || retired_versions(&server, "plug").is_empty());
    let bad = server.cli(&["admin", "package", "retire", "plug", "1.0.0", "bored"]);
    assert!(!bad.status.success() && String::from_utf8_lossy(&bad.stderr).contains("reason"));

    // no window for the operator
    server.psql("UPDATE releases SET inserted_at = now() - interval '2 days'");
    server.psql("UPDATE packages SET inserted_at = now() - interval '2 days'");
    server.admin(&["package", "revert", "plug", "1.1.0"]);
    eventually("the server stops serving the reverted release", || {
        signed_package(&server, "plug").unwrap().releases.iter().all(|r| r.version != "1.1.0")
    });
    assert_eq!(get(&format!("{}/repo/tarballs/plug-1.1.0.tar", server.url), &[]).status, 404);

    server.admin(&["package", "owner", "add", "plug", "bob", "--level", "maintainer"]);
    assert_eq!(
        owner_levels(&server, &ann, "plug"),
        [("ann".into(), "full".into()), ("bob".into(), "maintainer".into())]
    );
    server.admin(&["package", "owner", "remove", "plug", "bob"]);
    let last = server.cli(&["admin", "package", "owner", "remove", "plug", "ann"]);
    assert!(!last.status.success(), "the last full owner stays");
    assert_eq!(owner_levels(&server, &ann, "plug"), [("ann".into(), "full".into())]);

    let audit = get(&server.api("/packages/plug/audit-logs"), &[("authorization", &ann)]).json();
    let by_admin: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["params"]["by"] == "admin" && e["user_agent"] == "hexyard admin")
        .filter_map(|e| e["action"].as_str())
        .collect();
    for action in ["release.retire", "release.unretire", "release.revert", "owner.add", "owner.remove"] {
        assert!(by_admin.contains(&action), "{action} in {by_admin:?}");
    }
}

#[test]
fn a_package_transferred_to_an_organization_is_managed_by_its_roles() {
    let server = Server::start("hexyard");
    let mia = server.user_with_key("mia", &[]);
    let wri = server.user_with_key("wri", &[]);
    let rea = server.user_with_key("rea", &[]);
    server.admin(&["org", "create", "acme", "--owner", "mia"]);
    for (name, role) in [("wri", "write"), ("rea", "read")] {
        let body = format!(r#"{{"name": "{name}", "role": "{role}"}}"#);
        let added = request(
            "POST",
            &server.api("/orgs/acme/members"),
            &[("authorization", &mia), ("content-type", "application/json")],
            Some(body.as_bytes()),
        );
        assert_eq!(added.status, 200);
    }
    let mix = Mix::new();
    let api = server.api("");
    let greeter = mix.project("greeter", &package_mix_exs("1.0.0"));
    let as_mia = [("HEX_API_URL", api.as_str()), ("HEX_API_KEY", mia.as_str())];
    assert!(text(&mix.run(&greeter, &["hex.publish", "package", "--yes"], &as_mia)).contains("Package published"));
    let moved = mix.run(&greeter, &["hex.owner", "transfer", "greeter", "acme"], &as_mia);
    assert!(text(&moved).contains("=> 204"), "{}", text(&moved));
    let owners = get(&server.api("/packages/greeter"), &[]).json()["owners"].clone();
    assert_eq!(owners, json!([{"username": "acme", "level": "full", "url": server.api("/orgs/acme")}]));

    // the organization's writer publishes, its reader does not; its admin manages owners
    std::fs::write(greeter.join("mix.exs"), package_mix_exs("1.1.0")).unwrap();
    let as_wri = [("HEX_API_URL", api.as_str()), ("HEX_API_KEY", wri.as_str())];
    assert!(text(&mix.run(&greeter, &["hex.publish", "package", "--yes"], &as_wri)).contains("Package published"));
    let by_reader =
        request("POST", &server.api("/publish"), &[("authorization", &rea)], Some(&tarball("greeter", "1.2.0", &[])));
    assert_eq!(by_reader.status, 403);
    let add = |key: &str| {
        request(
            "PUT",
            &server.api("/packages/greeter/owners/rea"),
            &[("authorization", key), ("content-type", "application/json")],
            Some(br#"{"level":"maintainer"}"#),
        )
    };
    assert_eq!(add(&wri).status, 403, "a writer is a maintainer");
    assert_eq!(add(&mia).status, 204, "an admin is a full owner");
    let by_rea =
        request("POST", &server.api("/publish"), &[("authorization", &rea)], Some(&tarball("greeter", "1.2.0", &[])));
    assert_eq!(by_rea.status, 201, "now an owner in person");
}

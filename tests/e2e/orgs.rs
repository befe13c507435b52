//! Organizations and their members over the API (the private repositories come next).

use serde_json::json;

use crate::support::*;

fn post(server: &Server, key: &str, path: &str, body: serde_json::Value) -> Response {
    request(
        "POST",
        &server.api(path),
        &[("authorization", key), ("content-type", "application/json")],
        Some(body.to_string().as_bytes()),
    )
}

#[test]
fn members_roles_seats_and_what_outsiders_see() {
    let server = Server::start("hexyard");
    let ann = server.user_with_key("ann", &[]);
    let ben = server.user_with_key("ben", &[]);
    let cat = server.user_with_key("cat", &[]);
    server.admin(&["org", "create", "acme", "--owner", "ann", "--seats", "2"]);
    let dup = server.cli(&["admin", "org", "create", "acme", "--owner", "ben"]);
    assert!(!dup.status.success());
    let clash = server.cli(&["admin", "org", "create", "hexyard", "--owner", "ben"]);
    assert!(!clash.status.success(), "the public repository's name is taken");

    assert_eq!(get(&server.api("/orgs"), &[("authorization", &ann)]).json()[0]["name"], "acme");
    assert_eq!(
        get(&server.api("/users/me"), &[("authorization", &ann)]).json()["organizations"],
        json!([{"name": "acme", "role": "admin"}])
    );
    assert_eq!(get(&server.api("/orgs/acme"), &[("authorization", &ann)]).json()["seats"], 2);
    // outsiders cannot tell it exists
    for path in ["/orgs/acme", "/orgs/acme/members", "/orgs/acme/audit-logs", "/orgs/nothing"] {
        assert_eq!(get(&server.api(path), &[("authorization", &ben)]).status, 404, "{path}");
    }
    assert_eq!(get(&server.api("/orgs"), &[("authorization", &ben)]).json(), json!([]));

    let added = post(&server, &ann, "/orgs/acme/members", json!({"name": "ben", "role": "write"}));
    assert_eq!(added.status, 200, "{}", added.text());
    assert_eq!(added.json()["role"], "write");
    // a writer reads but does not manage
    assert_eq!(get(&server.api("/orgs/acme/members"), &[("authorization", &ben)]).json().as_array().unwrap().len(), 2);
    let denied = post(&server, &ben, "/orgs/acme/members", json!({"name": "cat"}));
    assert_eq!(denied.status, 403);
    // two seats, both taken
    let full = post(&server, &ann, "/orgs/acme/members", json!({"name": "cat", "role": "read"}));
    assert_eq!(full.status, 422);
    assert_eq!(post(&server, &ann, "/orgs/acme", json!({"seats": 1})).status, 422, "fewer seats than members");
    assert_eq!(post(&server, &ann, "/orgs/acme", json!({"seats": 3})).json()["seats"], 3);
    assert_eq!(post(&server, &ann, "/orgs/acme/members", json!({"name": "cat", "role": "read"})).status, 200);
    assert_eq!(get(&server.api("/orgs/acme/members/cat"), &[("authorization", &cat)]).json()["role"], "read");
    assert_eq!(post(&server, &ann, "/orgs/acme/members/cat", json!({"role": "admin"})).json()["role"], "admin");
    assert_eq!(post(&server, &ann, "/orgs/acme/members/cat", json!({"role": "owner"})).status, 422);

    // the last admin stays; a member may leave
    assert_eq!(request("DELETE", &server.api("/orgs/acme/members/cat"), &[("authorization", &ann)], None).status, 204);
    let last = request("DELETE", &server.api("/orgs/acme/members/ann"), &[("authorization", &ann)], None);
    assert_eq!(last.status, 422);
    assert_eq!(
        post(&server, &ann, "/orgs/acme/members/ann", json!({"role": "read"})).status,
        422,
        "cannot demote the last admin"
    );
    assert_eq!(request("DELETE", &server.api("/orgs/acme/members/ben"), &[("authorization", &ben)], None).status, 204);
    assert_eq!(get(&server.api("/orgs/acme"), &[("authorization", &ben)]).status, 404, "gone after leaving");

    let log = get(&server.api("/orgs/acme/audit-logs"), &[("authorization", &ann)]).json();
    let actions: Vec<&str> = log.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for action in [
        "organization.create",
        "organization.member.add",
        "organization.member.role",
        "organization.member.remove",
        "organization.update",
    ] {
        assert!(actions.contains(&action), "{action} not in {actions:?}");
    }
}

#[test]
fn a_private_repository_for_members_only() {
    let server = Server::start("hexyard");
    let ann = server.user_with_key("ann", &[]);
    let ben = server.user_with_key("ben", &[]);
    let mal = server.user_with_key("mal", &[]);
    server.admin(&["org", "create", "acme", "--owner", "ann"]);
    assert_eq!(post(&server, &ann, "/orgs/acme/members", json!({"name": "ben", "role": "write"})).status, 200);
    let reader = server.admin(&["key", "create", "ben", "fetch", "--permission", "repository:acme"]);
    // a public package the private ones may depend on
    assert_eq!(server.publish(&ann, &tarball("shared", "1.0.0", &[]), false).status, 201);

    // the hexpm crate publishes into the organization through /api/repos/acme/publish
    let config = hexpm::Config {
        api_base: format!("{}/api/repos/acme/", server.url).parse().unwrap(),
        repository_base: format!("{}/repo/repos/acme/", server.url).parse().unwrap(),
    };
    let body = tarball("secret", "1.0.0", &[("shared", "~> 1.0", Some("hexyard"))]);
    let resp = run(hexpm::api_publish_package_request(body.clone(), &ben, &config, false));
    assert_eq!(resp.status, 201, "{}", resp.text());
    // dependencies: hex.pm, the public repository, the organization — never another one
    let elsewhere = request(
        "POST",
        &server.api("/repos/acme/publish"),
        &[("authorization", &ben)],
        Some(&tarball("bad", "1.0.0", &[("xx", "~> 1.0", Some("other"))])),
    );
    assert_eq!(elsewhere.status, 422);
    // a non-member cannot publish there, and cannot tell it exists
    let intruder = request(
        "POST",
        &server.api("/repos/acme/publish"),
        &[("authorization", &mal)],
        Some(&tarball("evil", "1.0.0", &[])),
    );
    assert_eq!(intruder.status, 404);

    // members read it through the API and the repository, with keys or the hexpm crate
    assert_eq!(
        get(&server.api("/repos/acme/packages/secret"), &[("authorization", &ann)]).json()["repository"],
        "acme"
    );
    let org_key = get(&format!("{}/repo/repos/acme/public_key", server.url), &[("authorization", &reader)]).text();
    assert_ne!(org_key.trim(), server.public_key().trim(), "the organization signs with its own key");
    let resp = run(hexpm::repository_v2_get_package_request("secret", Some(&reader), &config));
    assert_eq!(resp.header("cache-control"), Some("private, max-age=60"));
    let package = hexpm::repository_v2_get_package_response(to_http(resp), org_key.as_bytes()).unwrap();
    assert_eq!(package.repository, "acme");
    assert_eq!(package.releases[0].requirements["shared"].repository.as_deref(), Some("hexyard"));
    let resp = run(hexpm::repository_get_package_tarball_request("secret", "1.0.0", Some(&reader), &config));
    assert_eq!(resp.status, 200);
    let verifying = hexyard_registry_key(&org_key);
    // /names follows the publish within a second, signed by the organization and naming it
    std::thread::sleep(std::time::Duration::from_millis(500));
    let names = get(&format!("{}/repo/repos/acme/names", server.url), &[("authorization", &reader)]).body;
    let decoded = hexyard_registry::decode_names(&names, &verifying, "acme").unwrap();
    assert!(decoded.packages.iter().any(|p| p.name == "secret"), "{decoded:?}");
    // nobody else: 404 everywhere, never 401 or 403
    for auth in [None, Some(mal.as_str())] {
        let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("authorization", *a)).collect();
        for url in [
            server.api("/repos/acme/packages/secret"),
            server.api("/repos/acme/packages"),
            server.api("/repos/acme/packages/secret/releases/1.0.0"),
            server.api("/repos/acme"),
            format!("{}/repo/repos/acme/names", server.url),
            format!("{}/repo/repos/acme/packages/secret", server.url),
            format!("{}/repo/repos/acme/tarballs/secret-1.0.0.tar", server.url),
            format!("{}/repo/repos/acme/public_key", server.url),
        ] {
            assert_eq!(get(&url, &headers).status, 404, "{url} as {auth:?}");
        }
    }
    // the public repository does not list or serve private packages
    assert_eq!(get(&server.api("/packages/secret"), &[]).status, 404);
    assert_eq!(get(&format!("{}/repo/packages/secret", server.url), &[]).status, 404);
    let repos = get(&server.api("/repos"), &[("authorization", &ann)]).json();
    assert_eq!(repos.as_array().unwrap().len(), 2);
    assert_eq!(get(&server.api("/repos"), &[("authorization", &mal)]).json().as_array().unwrap().len(), 1);
}

fn hexyard_registry_key(pem: &str) -> hexyard_registry::VerifyingKey {
    hexyard_registry::VerifyingKey::from_pem(pem).unwrap()
}

#[test]
fn rebar3_fetches_from_an_organization_with_its_key() {
    let server = Server::start("hexyard");
    let ann = server.user_with_key("ann", &[]);
    server.admin(&["org", "create", "acme", "--owner", "ann"]);
    // the organization's own key, as CI holds it
    let fetch_key = post(&server, &ann, "/orgs/acme/keys", json!({"name": "ci-fetch"})).json()["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let member_key = server.admin(&["key", "create", "ann", "ci-fetch", "--permission", "repository:acme"]);
    // hex_core publishes into the organization (api_repository), in ETF
    let code = format!(
        r#"
        {{ok, _}} = application:ensure_all_started(inets),
        Config = maps:merge(r3_hex_core:default_config(), #{{api_url => {api}, api_key => {key}, api_repository => <<"acme">>}}),
        {{ok, T}} = file:read_file({file}),
        {{ok, {{Status, _, _}}}} = r3_hex_api_release:publish(Config, T),
        io:format("publish ~p~n", [Status]),
        halt().
        "#,
        api = erl_bin(&server.api("")),
        key = erl_bin(&ann),
        file = erl_bin(&{
            let path = server.dir.path().join("orgpkg-1.0.0.tar");
            std::fs::write(&path, tarball("orgpkg", "1.0.0", &[])).unwrap();
            path.display().to_string()
        }),
    );
    let out = erl(&code);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("publish 201"),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    let org_key = get(&format!("{}/repo/repos/acme/public_key", server.url), &[("authorization", &fetch_key)]).text();
    let project = tempfile::tempdir().unwrap();
    let config = format!(
        "{{deps, [orgpkg]}}.\n{{hex, [{{repos, replace, [#{{name => <<\"acme\">>, repo_url => <<\"{url}/repo/repos/acme\">>, \
         repo_key => {key}, repo_verify => true, repo_public_key => {pem}}}]}}]}}.\n",
        url = server.url,
        key = erl_bin(&fetch_key),
        pem = erl_bin(&org_key),
    );
    std::fs::write(project.path().join("rebar.config"), &config).unwrap();
    let rebar3 = |dir: &std::path::Path| rebar3_get_deps(dir, &[]);
    let out = rebar3(project.path());
    assert!(out.status.success(), "{}\n{}", String::from_utf8_lossy(&out.stdout), server.log());
    assert!(project.path().join("_build/default/lib/orgpkg/hex_metadata.config").exists());

    // a member's key scoped to the repository works as well
    let member = tempfile::tempdir().unwrap();
    std::fs::write(member.path().join("rebar.config"), config.replace(&erl_bin(&fetch_key), &erl_bin(&member_key)))
        .unwrap();
    assert!(rebar3(member.path()).status.success());

    // without a valid key, with an outsider's, or with another organization's, rebar3 cannot get it
    let mallory = server.user_with_key("mallory", &[]);
    server.admin(&["org", "create", "other", "--owner", "mallory"]);
    let other_org =
        post(&server, &mallory, "/orgs/other/keys", json!({"name": "k"})).json()["secret"].as_str().unwrap().to_owned();
    for key in ["nonsense", mallory.as_str(), other_org.as_str()] {
        let other = tempfile::tempdir().unwrap();
        std::fs::write(other.path().join("rebar.config"), config.replace(&erl_bin(&fetch_key), &erl_bin(key))).unwrap();
        let out = rebar3(other.path());
        assert!(!out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    }
}

#[test]
fn an_organization_made_on_the_web_page() {
    let server = Server::start("hexyard");
    crate::oauth::user_with_password(&server, "wes", "s3cret-pass");
    let mut browser = crate::oauth::Browser::new();
    browser.sign_in(&server, "wes", "s3cret-pass");
    let page = browser.get(&format!("{}/dashboard", server.url));
    let csrf = crate::oauth::hidden(&page.text(), "csrf");
    let made = browser.post(&format!("{}/account/orgs", server.url), &[("name", "webco"), ("csrf", &csrf)]);
    assert_eq!(made.status, 303, "{}", made.text());
    assert!(
        browser
            .get(&format!("{}/dashboard", server.url))
            .text()
            .contains("<a href=\"/orgs/webco\">webco</a> <span class=\"tag\">admin</span>")
    );
    let taken = browser.post(&format!("{}/account/orgs", server.url), &[("name", "webco"), ("csrf", &csrf)]);
    assert_eq!(taken.status, 422);
    let bad = browser.post(&format!("{}/account/orgs", server.url), &[("name", "No Way"), ("csrf", &csrf)]);
    assert_eq!(bad.status, 422);
    let key = server.admin(&["key", "create", "wes", "k"]);
    assert_eq!(get(&server.api("/orgs/webco"), &[("authorization", &key)]).json()["name"], "webco");
    let log = get(&server.api("/orgs/webco/audit-logs"), &[("authorization", &key)]).json();
    assert_eq!(log[0]["action"], "organization.create");
}

#[test]
fn organization_keys_for_ci_with_no_user_behind_them() {
    let server = Server::start("hexyard");
    let ann = server.user_with_key("ann", &[]);
    let zed = server.user_with_key("zed", &[]);
    server.admin(&["org", "create", "acme", "--owner", "ann"]);
    server.admin(&["org", "create", "other", "--owner", "zed"]);
    let make = |admin: &str, org: &str, body: serde_json::Value| {
        let resp = post(&server, admin, &format!("/orgs/{org}/keys"), body);
        assert_eq!(resp.status, 201, "{}", resp.text());
        resp.json()["secret"].as_str().unwrap().to_owned()
    };
    let fetch = make(&ann, "acme", json!({"name": "fetch"}));
    let ci = make(
        &ann,
        "acme",
        json!({"name": "ci", "permissions": [{"domain": "repository", "resource": "acme"}, {"domain": "api", "resource": "write"}]}),
    );
    let foreign = make(&zed, "other", json!({"name": "fetch"}));
    // only admins make them, and only for their own organization
    assert_eq!(post(&server, &zed, "/orgs/acme/keys", json!({"name": "x"})).status, 404);
    let wide = post(
        &server,
        &ann,
        "/orgs/acme/keys",
        json!({"name": "y", "permissions": [{"domain": "repository", "resource": "other"}]}),
    );
    assert_eq!(wide.status, 422);
    let listed = get(&server.api("/orgs/acme/keys"), &[("authorization", &ann)]).json();
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert_eq!(listed[0]["url"], server.api("/orgs/acme/keys/ci"));

    // CI publishes with the organization's key: the hexpm crate and hex_core's publish
    let config = hexpm::Config {
        api_base: format!("{}/api/repos/acme/", server.url).parse().unwrap(),
        repository_base: format!("{}/repo/repos/acme/", server.url).parse().unwrap(),
    };
    let resp = run(hexpm::api_publish_package_request(tarball("cipkg", "1.0.0", &[]), &ci, &config, false));
    assert_eq!(resp.status, 201, "{}", resp.text());
    let file = server.dir.path().join("cipkg-1.1.0.tar");
    std::fs::write(&file, tarball("cipkg", "1.1.0", &[])).unwrap();
    let code = format!(
        r#"{{ok, _}} = application:ensure_all_started(inets),
        Config = maps:merge(r3_hex_core:default_config(), #{{api_url => {api}, api_key => {key}, api_repository => <<"acme">>}}),
        {{ok, T}} = file:read_file({file}),
        {{ok, {{Status, _, _}}}} = r3_hex_api_release:publish(Config, T),
        io:format("publish ~p~n", [Status]),
        halt()."#,
        api = erl_bin(&server.api("")),
        key = erl_bin(&ci),
        file = erl_bin(&file.display().to_string()),
    );
    let out = erl(&code);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("publish 201"), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    // `mix hex.organization auth ORG --key KEY` checks the key like this, reading key.owner.type
    let auth = get(&server.api("/auth?domain=repository&resource=acme"), &[("authorization", &ci)]);
    assert_eq!((auth.status, auth.json()["key"]["owner"]["type"].as_str()), (200, Some("organization")));

    // what an organization's key may not do
    assert_eq!(
        server.publish(&ci, &tarball("leak", "1.0.0", &[]), false).status,
        404,
        "not into the public repository"
    );
    assert_eq!(
        request(
            "POST",
            &server.api("/repos/acme/publish"),
            &[("authorization", &fetch)],
            Some(&tarball("ro", "1.0.0", &[]))
        )
        .status,
        401
    );
    assert_eq!(get(&server.api("/users/me"), &[("authorization", &ci)]).status, 401);

    // fetching: its own organization's repository, nobody else's
    let org_key = get(&format!("{}/repo/repos/acme/public_key", server.url), &[("authorization", &fetch)]).text();
    let resp = run(hexpm::repository_v2_get_package_request("cipkg", Some(&fetch), &config));
    let package = hexpm::repository_v2_get_package_response(to_http(resp), org_key.as_bytes()).unwrap();
    assert_eq!(package.releases.len(), 2);
    for url in [format!("{}/repo/repos/acme/packages/cipkg", server.url), server.api("/repos/acme/packages/cipkg")] {
        assert_eq!(get(&url, &[("authorization", &foreign)]).status, 404, "{url}");
    }
    // revoked: gone
    assert_eq!(request("DELETE", &server.api("/orgs/acme/keys/fetch"), &[("authorization", &ann)], None).status, 200);
    assert_eq!(
        get(&format!("{}/repo/repos/acme/packages/cipkg", server.url), &[("authorization", &fetch)]).status,
        404
    );
    let log = get(&server.api("/orgs/acme/audit-logs"), &[("authorization", &ann)]).json();
    let actions: Vec<&str> = log.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for action in ["organization.key.generate", "organization.key.remove", "release.publish"] {
        assert!(actions.contains(&action), "{action} not in {actions:?}");
    }
}

#[test]
fn registry_verify_and_rebuild_cover_organizations() {
    let server = Server::start("hexyard");
    let ann = server.user_with_key("ann", &[]);
    server.admin(&["org", "create", "acme", "--owner", "ann"]);
    let resp = request(
        "POST",
        &server.api("/repos/acme/publish"),
        &[("authorization", &ann)],
        Some(&tarball("inside", "1.0.0", &[])),
    );
    assert_eq!(resp.status, 201);
    std::thread::sleep(std::time::Duration::from_millis(500));
    let ok = server.cli(&["registry", "verify"]);
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    assert!(String::from_utf8_lossy(&ok.stderr).contains("the registry of acme verifies"));
    server.psql(
        "UPDATE registry_resources SET body = (SELECT body FROM registry_resources r WHERE r.path = 'names' \
         AND r.repository_id = registry_resources.repository_id) WHERE path = 'packages/inside'",
    );
    let bad = server.cli(&["registry", "verify"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stdout).contains("acme: packages/inside"), "{bad:?}");
    assert!(server.cli(&["registry", "rebuild"]).status.success());
    assert!(server.cli(&["registry", "verify"]).status.success());
}

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
fn rebar3_fetches_from_an_organization_with_a_member_key() {
    let server = Server::start("hexyard");
    let ann = server.user_with_key("ann", &[]);
    server.admin(&["org", "create", "acme", "--owner", "ann"]);
    let fetch_key = server.admin(&["key", "create", "ann", "ci-fetch", "--permission", "repository:acme"]);
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
    let rebar3 = |dir: &std::path::Path| {
        std::process::Command::new("rebar3")
            .arg("get-deps")
            .current_dir(dir)
            .env("HOME", dir)
            .env("REBAR_CACHE_DIR", dir.join("cache"))
            .env("REBAR_GLOBAL_CONFIG_DIR", dir.join("global"))
            .output()
            .unwrap()
    };
    let out = rebar3(project.path());
    assert!(out.status.success(), "{}\n{}", String::from_utf8_lossy(&out.stdout), server.log());
    assert!(project.path().join("_build/default/lib/orgpkg/hex_metadata.config").exists());

    // without the key, or with another's, rebar3 cannot get it
    let mallory = server.user_with_key("mallory", &[]);
    for key in ["nonsense", mallory.as_str()] {
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
    let page = browser.get(&format!("{}/", server.url));
    let csrf = crate::oauth::hidden(&page.text(), "csrf");
    let made = browser.post(&format!("{}/account/orgs", server.url), &[("name", "webco"), ("csrf", &csrf)]);
    assert_eq!(made.status, 303, "{}", made.text());
    assert!(browser.get(&format!("{}/", server.url)).text().contains("webco (admin)"));
    let taken = browser.post(&format!("{}/account/orgs", server.url), &[("name", "webco"), ("csrf", &csrf)]);
    assert_eq!(taken.status, 422);
    let bad = browser.post(&format!("{}/account/orgs", server.url), &[("name", "No Way"), ("csrf", &csrf)]);
    assert_eq!(bad.status, 422);
    let key = server.admin(&["key", "create", "wes", "k"]);
    assert_eq!(get(&server.api("/orgs/webco"), &[("authorization", &key)]).json()["name"], "webco");
    let log = get(&server.api("/orgs/webco/audit-logs"), &[("authorization", &key)]).json();
    assert_eq!(log[0]["action"], "organization.create");
}

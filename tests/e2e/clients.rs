//! The real clients publish to and fetch from the server.

use sha2::{Digest, Sha256};

use crate::support::*;

fn hexpm_config(server: &Server) -> hexpm::Config {
    hexpm::Config {
        api_base: format!("{}/api/", server.url).parse().unwrap(),
        repository_base: format!("{}/repo/", server.url).parse().unwrap(),
    }
}

const FIXTURES: [(&str, &str, &str); 3] =
    [("foo", "0.1.0", "foo-0.1.0.tar"), ("baz", "0.3.0", "baz-0.3.0.tar"), ("bar", "1.2.0-rc.1", "bar-1.2.0-rc.1.tar")];

#[test]
fn hexpm_crate_publishes_the_fixtures_and_reads_them_back_verified() {
    let server = Server::start("acme");
    let key = server.user_with_key("gleamer", &[]);
    let config = hexpm_config(&server);
    for (_, _, file) in FIXTURES {
        let resp = run(hexpm::api_publish_package_request(fixture_tarball(file), &key, &config, false));
        assert_eq!(resp.status, 201, "{}", resp.text());
        hexpm::api_publish_package_response(to_http(resp)).unwrap();
    }
    // publishing again without replace is the error Gleam reports as "not replacing"
    let again = run(hexpm::api_publish_package_request(fixture_tarball("foo-0.1.0.tar"), &key, &config, false));
    assert!(matches!(hexpm::api_publish_package_response(to_http(again)), Err(hexpm::ApiError::NotReplacing)));

    let public_key = server.public_key();
    for (name, version, file) in FIXTURES {
        let resp = run(hexpm::repository_v2_get_package_request(name, None, &config));
        let package = hexpm::repository_v2_get_package_response(to_http(resp), public_key.as_bytes()).unwrap();
        assert_eq!((package.name.as_str(), package.repository.as_str()), (name, "acme"));
        let release = &package.releases[0];
        assert_eq!(release.version.to_string(), version);
        let checksum = Sha256::digest(fixture_tarball(file)).to_vec();
        assert_eq!(release.outer_checksum, checksum);

        let resp = run(hexpm::repository_get_package_tarball_request(name, version, None, &config));
        let tarball = hexpm::repository_get_package_tarball_response(to_http(resp), &checksum).unwrap();
        assert_eq!(tarball, fixture_tarball(file));
    }
    // bar: foo in this repository (no repository field), jason from hex.pm, optional only there
    let resp = run(hexpm::repository_v2_get_package_request("bar", None, &config));
    let bar = hexpm::repository_v2_get_package_response(to_http(resp), public_key.as_bytes()).unwrap();
    let reqs = &bar.releases[0].requirements;
    assert_eq!((reqs["foo"].optional, reqs["foo"].repository.as_deref()), (false, None));
    assert_eq!((reqs["jason"].optional, reqs["jason"].repository.as_deref()), (true, Some("hexpm")));

    // /versions follows within a second
    std::thread::sleep(std::time::Duration::from_millis(1000));
    let resp = run(hexpm::repository_v2_get_versions_request(None, &config));
    let versions = hexpm::repository_v2_get_versions_response(to_http(resp), public_key.as_bytes()).unwrap();
    let mut names: Vec<&String> = versions.keys().collect();
    names.sort();
    assert_eq!(names, ["bar", "baz", "foo"]);

    // the release as Gleam reads it from the API
    let resp = run(hexpm::api_get_package_release_request("bar", "1.2.0-rc.1", None, &config));
    let release = hexpm::api_get_package_release_response(to_http(resp)).unwrap();
    assert_eq!(release.meta.app, "bar");
    assert_eq!(release.outer_checksum, Sha256::digest(fixture_tarball("bar-1.2.0-rc.1.tar")).to_vec());
}

#[test]
fn rebar3_hex_core_publishes_in_etf_and_reads_back() {
    let server = Server::start("acme");
    let key = server.user_with_key("erlanger", &[]);
    let pem = server.public_key();
    let tarballs = fixtures().join("tarballs");
    let code = format!(
        r#"
        {{ok, _}} = application:ensure_all_started(inets),
        Config = maps:merge(r3_hex_core:default_config(), #{{
            api_url => {api}, api_key => {key},
            repo_url => {repo}, repo_name => <<"acme">>, repo_public_key => {pem}}}),
        Publish = fun(File) ->
            {{ok, T}} = file:read_file(filename:join({dir}, File)),
            {{ok, {{Status, _, Body}}}} = r3_hex_api_release:publish(Config, T),
            io:format("publish ~s ~p ~s~n", [File, Status, maps:get(<<"html_url">>, Body)])
        end,
        [Publish(F) || F <- ["foo-0.1.0.tar", "baz-0.3.0.tar"]],
        {{ok, {{200, _, Pkg}}}} = r3_hex_api_package:get(Config, <<"baz">>),
        io:format("api ~s ~s~n", [maps:get(<<"name">>, Pkg), maps:get(<<"mix.exs">>, maps:get(<<"configs">>, Pkg))]),
        {{ok, {{200, _, Me}}}} = r3_hex_api_user:me(Config),
        io:format("me ~s ~p~n", [maps:get(<<"username">>, Me), maps:get(<<"organizations">>, Me)]),
        {{ok, {{200, _, [R]}}}} = r3_hex_repo:get_package(Config, <<"baz">>),
        io:format("repo ~s ~s~n", [maps:get(version, R), binary:encode_hex(maps:get(outer_checksum, R))]),
        {{ok, {{200, Headers, Tar}}}} = r3_hex_repo:get_tarball(Config, <<"baz">>, <<"0.3.0">>),
        io:format("tarball ~p ~s~n", [byte_size(Tar), maps:get(<<"etag">>, Headers)]),
        halt().
        "#,
        api = erl_bin(&server.api("")),
        key = erl_bin(&key),
        repo = erl_bin(&format!("{}/repo", server.url)),
        pem = erl_bin(&pem),
        dir = erl_bin(&tarballs.display().to_string()),
    );
    let out = erl(&code);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}\n{}", String::from_utf8_lossy(&out.stderr), server.log());
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines.contains(&format!("publish foo-0.1.0.tar 201 {}/packages/foo/0.1.0", server.url).as_str()),
        "{stdout}"
    );
    assert!(
        lines.contains(&format!("publish baz-0.3.0.tar 201 {}/packages/baz/0.3.0", server.url).as_str()),
        "{stdout}"
    );
    assert!(lines.contains(&"api baz {:baz, \"~> 0.3.0\", repo: \"acme\"}"), "{stdout}");
    assert!(lines.contains(&"me erlanger []"), "{stdout}");
    assert!(lines.contains(&"repo 0.3.0 30558EFF50AB0A4E24CC994FC5D7BB06F727429A05809BB08106CB535BA5FEF9"), "{stdout}");
    assert!(
        lines.contains(&"tarball 5120 \"30558eff50ab0a4e24cc994fc5d7bb06f727429a05809bb08106cb535ba5fef9\""),
        "{stdout}"
    );
}

#[test]
fn rebar3_get_deps_fetches_from_the_verified_repository() {
    let server = Server::start("acme");
    let key = server.user_with_key("builder", &[]);
    // foo is the mix-made fixture; the hex_core-made baz fixture has no .app.src, so rebar3
    // cannot use it as a dependency from any registry: qux is a rebar3 project built here
    assert_eq!(server.publish(&key, &fixture_tarball("foo-0.1.0.tar"), false).status, 201);
    let qux = tarball("qux", "1.0.0", &[("foo", "~> 0.1.0", Some("acme"))]);
    assert_eq!(server.publish(&key, &qux, false).status, 201);
    let project = tempfile::tempdir().unwrap();
    let pem = server.public_key();
    let config = format!(
        "{{deps, [qux]}}.\n{{hex, [{{repos, replace, [#{{name => <<\"acme\">>, repo_url => <<\"{url}/repo\">>, \
         api_url => <<\"{url}/api\">>, repo_verify => true, repo_public_key => {pem}}}]}}]}}.\n",
        url = server.url,
        pem = erl_bin(&pem),
    );
    std::fs::write(project.path().join("rebar.config"), config).unwrap();
    let out = rebar3_get_deps(project.path(), &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}\n{}", String::from_utf8_lossy(&out.stderr), server.log());
    for dep in ["qux", "foo"] {
        assert!(
            project.path().join("_build/default/lib").join(dep).join("hex_metadata.config").exists(),
            "{dep}: {stdout}"
        );
    }
    let lock = std::fs::read_to_string(project.path().join("rebar.lock")).unwrap();
    let qux_outer = hexyard_tarball::hex_upper(&Sha256::digest(&qux));
    // rebar3 locks the inner checksum (pkg_hash) and the outer one (pkg_hash_ext)
    for checksum in [
        "657D341ACE7702DA1D4052EC5621B511AC1E092C10223671E2CBA90644D5DF17",
        "25B1E26020E303A1B09022CC3671676A777641D570CB323999376608337FD3A2",
        &qux_outer,
    ] {
        assert!(lock.contains(checksum), "{checksum} not in rebar.lock:\n{lock}");
    }

    // a second run with the lock and a warm cache revalidates the tarballs by ETag
    std::fs::remove_dir_all(project.path().join("_build")).unwrap();
    let again = rebar3_get_deps(project.path(), &[]);
    assert!(again.status.success(), "{}", String::from_utf8_lossy(&again.stdout));
    // each run downloaded both tarballs: a fetch, then a revalidation
    for package in ["qux", "foo"] {
        assert_eq!(server.downloads_reach(&format!("/packages/{package}"), "all", 2)["all"], 2, "{package}");
    }
}

//! The caching mirror of hex.pm, against a stand-in upstream (a registry named `hexpm` signed
//! with a test key, served on 127.0.0.1): the real mix and rebar3 fetch through `/mirror` with
//! verification on, also after the upstream stops; what does not verify is refused and never
//! cached; concurrent misses make one upstream request; `mirror sync` then offline mode serves
//! a dependency tree with the upstream gone.

use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::support::*;
use crate::upstream::{Fault, Registry, Upstream};

/// alpha 0.2.0 depends on beta ~> 1.0 (1.0.0 and 1.1.0 exist); gamma stands alone.
fn registry() -> (Registry, Vec<u8>, Vec<u8>) {
    let mut registry = Registry::new("hexpm");
    registry.release("beta", "1.0.0", &[]);
    let beta = registry.release("beta", "1.1.0", &[]);
    let alpha = registry.release("alpha", "0.2.0", &[("beta", "~> 1.0")]);
    registry.release("gamma", "3.0.0", &[]);
    (registry, alpha, beta)
}

/// A server mirroring `upstream`, trusting `registry`'s key.
fn mirror_server(registry: &Registry, upstream: &Upstream, env: &[(&str, &str)]) -> Server {
    let pem = registry.public_key_pem();
    let mut all = vec![("HEXYARD_MIRROR_URL", upstream.url.as_str()), ("HEXYARD_MIRROR_PUBLIC_KEY", pem.as_str())];
    all.extend_from_slice(env);
    Server::start_with("hexyard", &all)
}

/// A counter or gauge from the server's `/metrics` (0 when absent).
fn metric(server: &Server, name: &str) -> f64 {
    let text = get(&format!("{}/metrics", server.url), &[]).text();
    text.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok()).unwrap_or(0.0)
}

fn hex_lower(bytes: &[u8]) -> String {
    hexyard_tarball::hex_lower(&Sha256::digest(bytes))
}

/// A mix whose `hexpm` repository trusts the test key (the stand-in for hex.pm's own).
fn mix_trusting(registry: &Registry) -> Mix {
    let mix = Mix::new();
    let pem = mix.home.path().join("upstream.pem");
    std::fs::write(&pem, registry.public_key_pem()).unwrap();
    let set = mix.run(mix.home.path(), &["hex.repo", "set", "hexpm", "--public-key", pem.to_str().unwrap()], &[]);
    assert!(set.status.success(), "{}", text(&set));
    mix
}

const APP: &str = r#"defmodule App.MixProject do
  use Mix.Project
  def project, do: [app: :app, version: "0.1.0", deps: [{:alpha, "~> 0.2"}]]
end
"#;

/// `mix deps.get` of alpha (and so beta) with `HEX_MIRROR`; its output.
fn mix_deps_get(mix: &Mix, project: &str, server: &Server) -> String {
    // a new project and no cached tarballs: every byte comes through the mirror
    let _ = std::fs::remove_dir_all(mix.home.path().join("hex/packages"));
    let app = mix.project(project, APP);
    let mirror = format!("{}/mirror", server.url);
    let out = mix.run(&app, &["deps.get"], &[("HEX_MIRROR", &mirror)]);
    let printed = text(&out);
    assert!(out.status.success(), "{printed}\n{}", server.log());
    assert!(app.join("deps/alpha/src/alpha.erl").exists() && app.join("deps/beta/src/beta.erl").exists(), "{printed}");
    printed + &std::fs::read_to_string(app.join("mix.lock")).unwrap()
}

#[test]
fn mix_fetches_through_the_mirror_verified_also_after_the_upstream_stops() {
    let (registry, alpha, beta) = registry();
    let upstream = Upstream::serve(registry.files());
    let server = mirror_server(&registry, &upstream, &[("HEXYARD_MIRROR_MAX_AGE_SECONDS", "1")]);
    let mix = mix_trusting(&registry);

    let out = mix_deps_get(&mix, "app", &server);
    assert!(out.contains("/mirror/tarballs/alpha-0.2.0.tar\") => 200"), "{out}");
    assert!(out.contains("/mirror/tarballs/beta-1.1.0.tar\") => 200"), "{out}");
    // mix checked both against the signed registry and locked them from hexpm
    for tarball in [&alpha, &beta] {
        assert!(out.contains(&format!("\"{}\"", hex_lower(tarball))), "{out}");
    }
    assert!(out.contains("\"hexpm\""), "{out}");
    assert_eq!(server.psql("SELECT count(*) FROM mirror_tarballs").trim(), "2");
    assert_eq!(upstream.hits("tarballs/alpha-0.2.0.tar"), 1);

    // the upstream goes away and the cache is past its age: revalidation fails, the cached
    // copies are served, and mix still verifies them
    upstream.stop();
    std::thread::sleep(Duration::from_millis(1200));
    let again = mix_deps_get(&mix, "app_again", &server);
    for tarball in [&alpha, &beta] {
        assert!(again.contains(&format!("\"{}\"", hex_lower(tarball))), "{again}");
    }
    let stale = get(&format!("{}/mirror/packages/alpha", server.url), &[]);
    assert_eq!((stale.status, stale.header("x-hexyard-mirror")), (200, Some("stale")));
    assert!(server.log().contains("serving the cached copy"), "{}", server.log());
}

/// `rebar3 get-deps` of alpha with `HEX_CDN` pointing at the mirror, rebar3's `hexpm` entry
/// trusting the test key (and sending `repo_key` when given): the project dir and the output.
fn rebar3_through_mirror(registry: &Registry, server: &Server, repo_key: Option<&str>) -> (tempfile::TempDir, String) {
    let project = tempfile::tempdir().unwrap();
    let key = repo_key.map(|k| format!(", repo_key => {}", erl_bin(k))).unwrap_or_default();
    let config = format!(
        "{{deps, [{{alpha, \"~> 0.2\"}}]}}.\n\
         {{hex, [{{repos, [#{{name => <<\"hexpm\">>, repo_public_key => {}{key}}}]}}]}}.\n",
        erl_bin(&registry.public_key_pem())
    );
    std::fs::write(project.path().join("rebar.config"), config).unwrap();
    let out = crate::support::rebar3_get_deps(project.path(), &[("HEX_CDN", &format!("{}/mirror", server.url))]);
    let printed = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{printed}\n{}", server.log());
    (project, printed)
}

#[test]
fn rebar3_fetches_through_the_mirror_with_hex_cdn() {
    let (registry, alpha, beta) = registry();
    let upstream = Upstream::serve(registry.files());
    let server = mirror_server(&registry, &upstream, &[]);
    let (project, printed) = rebar3_through_mirror(&registry, &server, None);
    for dep in ["alpha", "beta"] {
        assert!(project.path().join("_build/default/lib").join(dep).join("src").exists(), "{dep}: {printed}");
    }
    let lock = std::fs::read_to_string(project.path().join("rebar.lock")).unwrap();
    for tarball in [&alpha, &beta] {
        let outer = hexyard_tarball::hex_upper(&Sha256::digest(tarball));
        assert!(lock.contains(&outer), "{outer} not in rebar.lock:\n{lock}");
    }
    assert_eq!(server.psql("SELECT count(*) FROM mirror_tarballs").trim(), "2");
    assert!(upstream.hits("packages/alpha") >= 1 && upstream.hits("tarballs/beta-1.1.0.tar") == 1);
}

#[test]
fn what_does_not_verify_is_refused_and_never_cached() {
    let (registry, _, beta) = registry();
    let files = registry.files();
    let upstream = Upstream::serve(files.clone());
    let server = mirror_server(&registry, &upstream, &[("HEXYARD_MIRROR_TIMEOUT_SECONDS", "1")]);
    let mirror = |path: &str| get(&format!("{}/mirror/{path}", server.url), &[]);
    let cached = |path: &str| server.psql(&format!("SELECT count(*) FROM mirror_resources WHERE path = '{path}'"));

    // signed with another key, or for another repository
    let forger = hexyard_registry::SigningKey::generate().unwrap();
    upstream.set("packages/alpha", registry.files_signed(&forger, "hexpm").remove("packages/alpha").unwrap());
    let forged = mirror("packages/alpha");
    assert_eq!(forged.status, 502, "{}", forged.text());
    assert!(forged.text().contains("does not verify"), "{}", forged.text());
    upstream.set("packages/alpha", registry.files_signed(&registry.key, "other").remove("packages/alpha").unwrap());
    assert_eq!(mirror("packages/alpha").status, 502);
    assert_eq!(cached("packages/alpha").trim(), "0");
    // the genuine one is served byte for byte
    let genuine = registry.files().remove("packages/alpha").unwrap();
    upstream.set("packages/alpha", genuine.clone());
    let served = mirror("packages/alpha");
    assert_eq!((served.status, served.body.as_slice()), (200, genuine.as_slice()));

    // a tarball that differs from its signed checksum
    let mut tampered = beta.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    upstream.set("tarballs/beta-1.1.0.tar", tampered);
    let refused = mirror("tarballs/beta-1.1.0.tar");
    assert_eq!(refused.status, 502, "{}", refused.text());
    assert!(refused.text().contains("checksum"), "{}", refused.text());
    assert_eq!(server.psql("SELECT count(*) FROM mirror_tarballs").trim(), "0");
    let blobs = server.data_dir().join("blobs/mirror/tarballs");
    assert!(!blobs.exists() || std::fs::read_dir(&blobs).unwrap().next().is_none(), "a tampered tarball was stored");
    upstream.set("tarballs/beta-1.1.0.tar", beta.clone());
    let good = mirror("tarballs/beta-1.1.0.tar");
    assert_eq!((good.status, good.body.len()), (200, beta.len()));
    assert!(good.header("etag").is_some(), "rebar3 needs an ETag");

    // a 500, a garbage page, a truncated body, a hang: 502 or 504, nothing cached
    upstream.fault("versions", Some(Fault::Status(500)));
    assert_eq!(mirror("versions").status, 502);
    upstream.fault("names", Some(Fault::Garbage));
    assert_eq!(mirror("names").status, 502);
    upstream.fault("packages/gamma", Some(Fault::Truncate));
    assert_eq!(mirror("packages/gamma").status, 502);
    upstream.fault("tarballs/beta-1.0.0.tar", Some(Fault::Hang));
    let started = Instant::now();
    let hung = mirror("tarballs/beta-1.0.0.tar");
    assert_eq!(hung.status, 504, "{}", hung.text());
    assert!(started.elapsed() < Duration::from_secs(6), "{:?}", started.elapsed());
    for path in ["versions", "names", "packages/gamma"] {
        assert_eq!(cached(path).trim(), "0", "{path}");
    }
    // a package upstream does not have, and paths no repository serves
    assert_eq!(mirror("packages/nope").status, 404);
    assert_eq!(mirror("tarballs/nope-1.0.0.tar").status, 404);
    assert_eq!(mirror("packages/..%2Fetc").status, 404);
    assert_eq!(mirror("tarballs/alpha-9.9.9.tar").status, 404, "a release the signed package does not name");
    // once the upstream recovers, the same paths are fetched and kept
    for path in ["versions", "names", "packages/gamma"] {
        upstream.fault(path, None);
        let ok = mirror(path);
        assert_eq!((ok.status, &ok.body), (200, &files[path]), "{path}");
        assert_eq!(cached(path).trim(), "1", "{path}");
    }
    assert!(server.log().contains("upstream request failed"), "failures are logged");
    // and counted: 2 forged package resources, a tampered tarball, a 500, garbage, a truncated
    // body and a hang
    assert_eq!(metric(&server, "hexyard_mirror_upstream_errors_total"), 7.0);

    // the installs CSV comes with its signature, both checked
    let csv = mirror("installs/hex-1.x.csv");
    assert_eq!((csv.status, csv.body.as_slice()), (200, &b"2.5.1,0123abcd,1.14.0\n"[..]));
    let signature = mirror("installs/hex-1.x.csv.signed");
    assert_eq!(signature.body, files["installs/hex-1.x.csv.signed"]);
    assert_eq!(String::from_utf8(mirror("public_key").body).unwrap(), registry.public_key_pem());
}

#[test]
fn installs_csv_with_a_bad_signature_is_refused() {
    let (registry, _, _) = registry();
    let upstream = Upstream::serve(registry.files());
    upstream.set("installs/hex-1.x.csv", b"9.9.9,evil,1.14.0\n".to_vec());
    let server = mirror_server(&registry, &upstream, &[]);
    assert_eq!(get(&format!("{}/mirror/installs/hex-1.x.csv", server.url), &[]).status, 502);
    assert_eq!(server.psql("SELECT count(*) FROM mirror_resources").trim(), "0");
}

#[test]
fn concurrent_misses_make_one_upstream_request() {
    let (registry, alpha, _) = registry();
    let upstream = Upstream::serve(registry.files());
    upstream.fault("packages/alpha", Some(Fault::Slow(Duration::from_millis(300))));
    upstream.fault("tarballs/alpha-0.2.0.tar", Some(Fault::Slow(Duration::from_millis(300))));
    let server = mirror_server(&registry, &upstream, &[]);
    let url = format!("{}/mirror/tarballs/alpha-0.2.0.tar", server.url);
    let bodies: Vec<(u16, Vec<u8>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..100)
            .map(|_| {
                scope.spawn(|| {
                    let r = get(&url, &[]);
                    (r.status, r.body)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(bodies.iter().all(|(status, body)| *status == 200 && *body == alpha));
    assert_eq!(upstream.hits("tarballs/alpha-0.2.0.tar"), 1);
    assert_eq!(upstream.hits("packages/alpha"), 1);
    // the metrics tell the same: two bodies fetched, their bytes, then hits
    assert_eq!(metric(&server, "hexyard_mirror_fetches_total"), 2.0);
    let bytes = metric(&server, "hexyard_mirror_upstream_bytes_total");
    assert!(bytes > alpha.len() as f64, "{bytes}");
    assert_eq!(get(&url, &[]).status, 200);
    assert!(metric(&server, "hexyard_mirror_hits_total") >= 1.0);
    assert!(metric(&server, "hexyard_mirror_cache_bytes") >= bytes);
    // the requests by route: the pattern, not a series per tarball
    let route = r#"hexyard_http_requests_total{method="GET",route="/mirror/tarballs/{file}",status="200"}"#;
    assert_eq!(metric(&server, route), 101.0);
}

#[test]
fn sync_then_offline_serves_the_tree_without_the_upstream() {
    let (registry, alpha, beta) = registry();
    let upstream = Upstream::serve(registry.files());
    let server = mirror_server(&registry, &upstream, &[("HEXYARD_MIRROR_MAX_BYTES", "1K")]);
    let sync = server.cli(&["mirror", "sync", "alpha", "--with-deps"]);
    let printed = String::from_utf8_lossy(&sync.stdout);
    assert!(sync.status.success(), "{printed}{}", String::from_utf8_lossy(&sync.stderr));
    assert!(printed.contains("2 packages, 2 tarballs: 2 fetched now, 0 cached before, 0 failed"), "{printed}");
    // a second run resumes: nothing to fetch
    let again = server.cli(&["mirror", "sync", "alpha", "--with-deps"]);
    assert!(String::from_utf8_lossy(&again.stdout).contains("0 fetched now, 2 cached before"));
    assert_eq!(upstream.hits("tarballs/beta-1.1.0.tar"), 1);
    assert_eq!(upstream.hits("tarballs/beta-1.0.0.tar"), 0, "only the latest version meeting ~> 1.0");
    let status = server.cli(&["mirror", "status"]);
    let status = String::from_utf8_lossy(&status.stdout);
    assert!(status.contains("tarballs cached: 2"), "{status}");
    assert!(status.contains("OVER THE LIMIT"), "{status}");

    upstream.stop();
    let server = server.restart_with(&[("HEXYARD_MIRROR_OFFLINE", "true")]);
    let mix = mix_trusting(&registry);
    let out = mix_deps_get(&mix, "app", &server);
    for tarball in [&alpha, &beta] {
        assert!(out.contains(&format!("\"{}\"", hex_lower(tarball))), "{out}");
    }
    let missing = get(&format!("{}/mirror/packages/gamma", server.url), &[]);
    assert_eq!(missing.status, 404);
    assert!(missing.text().contains("offline"), "{}", missing.text());
}

#[test]
fn the_mirror_can_require_a_key_or_be_off() {
    let (registry, _, _) = registry();
    let upstream = Upstream::serve(registry.files());
    let server = mirror_server(&registry, &upstream, &[("HEXYARD_MIRROR_AUTH", "required")]);
    let url = format!("{}/mirror/packages/gamma", server.url);
    assert_eq!(get(&url, &[]).status, 403);
    let api_only = server.user_with_key("reader", &["api:read"]);
    assert_eq!(get(&url, &[("authorization", &api_only)]).status, 403);
    let mirror_key = server.user_with_key("ci", &["repository:hexpm"]);
    let ok = get(&url, &[("authorization", &mirror_key)]);
    assert_eq!(ok.status, 200, "{}", ok.text());
    assert_eq!(ok.header("cache-control"), Some("private, max-age=60"));
    assert_eq!(upstream.hits("packages/gamma"), 1, "refused requests never reach the upstream");

    // mix sends the key to a trusted mirror, after exchanging it at HEX_API_URL for a token
    // with the `repositories` scope (so the key needs that permission)
    let ci_key = server.user_with_key("mixci", &["repositories"]);
    let mix = mix_trusting(&registry);
    let app = mix.project("app", APP);
    let mirror = format!("{}/mirror", server.url);
    let api = server.api("");
    let env = [("HEX_TRUSTED_MIRROR", mirror.as_str()), ("HEX_REPOS_KEY", ci_key.as_str()), ("HEX_API_URL", &api)];
    let out = mix.run(&app, &["deps.get"], &env);
    assert!(out.status.success() && app.join("deps/beta/src/beta.erl").exists(), "{}\n{}", text(&out), server.log());
    // rebar3 sends the repo_key of its hexpm entry
    let (project, printed) = rebar3_through_mirror(&registry, &server, Some(&mirror_key));
    assert!(project.path().join("_build/default/lib/beta/src").exists(), "{printed}");
    let untrusted = mix.project("untrusted", APP);
    let _ = std::fs::remove_dir_all(mix.home.path().join("hex/packages"));
    let refused = mix.run(&untrusted, &["deps.get"], &[("HEX_MIRROR", mirror.as_str())]);
    assert!(!untrusted.join("deps/alpha").exists(), "{}", text(&refused));

    let off = server.restart_with(&[("HEXYARD_MIRROR", "off")]);
    assert_eq!(get(&format!("{}/mirror/packages/gamma", off.url), &[]).status, 404);
}

#[test]
fn replicas_share_the_cache_and_revalidate_by_etag() {
    let (registry, alpha, _) = registry();
    let upstream = Upstream::serve(registry.files());
    let server = mirror_server(&registry, &upstream, &[("HEXYARD_MIRROR_MAX_AGE_SECONDS", "1")]);
    let tarball = |server: &Server| get(&format!("{}/mirror/tarballs/alpha-0.2.0.tar", server.url), &[]);
    assert_eq!(tarball(&server).body, alpha);
    let replica = server.replica();
    let from_replica = tarball(&replica);
    assert_eq!((from_replica.status, &from_replica.body), (200, &alpha));
    assert_eq!(upstream.hits("tarballs/alpha-0.2.0.tar"), 1, "the replica served the shared cache");

    // past its age the package resource is revalidated with the upstream's ETag: a 304 keeps
    // the body and moves only the check time
    let before = upstream.hits("packages/alpha");
    std::thread::sleep(Duration::from_millis(1200));
    assert_eq!(get(&format!("{}/mirror/packages/alpha", server.url), &[]).status, 200);
    assert_eq!(upstream.hits("packages/alpha"), before + 1);
    let moved = server.psql("SELECT checked_at > fetched_at FROM mirror_resources WHERE path = 'packages/alpha'");
    assert_eq!(moved.trim(), "t");

    // a package the upstream does not have is asked for once a minute, not on every request
    for _ in 0..3 {
        assert_eq!(get(&format!("{}/mirror/packages/nope", server.url), &[]).status, 404);
    }
    assert_eq!(upstream.hits("packages/nope"), 1);
}

#[test]
fn a_tarball_replaced_upstream_is_fetched_again() {
    let (mut registry, alpha, _) = registry();
    let upstream = Upstream::serve(registry.files());
    let server = mirror_server(&registry, &upstream, &[("HEXYARD_MIRROR_MAX_AGE_SECONDS", "1")]);
    let tarball = || get(&format!("{}/mirror/tarballs/alpha-0.2.0.tar", server.url), &[]);
    assert_eq!(tarball().body, alpha);

    // hex.pm lets a release be replaced within its first hour
    let replaced = tarball_with("alpha", "0.2.0", &[("beta", "~> 1.0", None)], |m| {
        m.description = Some("Replaced".into());
    });
    assert_ne!(replaced, alpha);
    registry.replace("alpha", "0.2.0", replaced.clone());
    upstream.replace_all(registry.files());
    std::thread::sleep(Duration::from_millis(1200));
    assert_eq!(get(&format!("{}/mirror/packages/alpha", server.url), &[]).status, 200);
    let fresh = tarball();
    assert_eq!((fresh.status, &fresh.body), (200, &replaced), "the signed checksum changed: fetched again");
    let stored = server.psql("SELECT encode(outer_checksum, 'hex') FROM mirror_tarballs WHERE package = 'alpha'");
    assert_eq!(stored.trim(), hex_lower(&replaced));
}

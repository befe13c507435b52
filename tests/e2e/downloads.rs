//! Download counts (issue 11): tarball fetches counted in memory, added in batches, shown as
//! hex.pm shows them, ordering the download sorts, kept across a restart.

use crate::support::*;

fn fetch(server: &Server, stem: &str, etag: Option<&str>) -> Response {
    let headers: Vec<(&str, &str)> = etag.map(|e| ("if-none-match", e)).into_iter().collect();
    get(&format!("{}/repo/tarballs/{stem}.tar", server.url), &headers)
}

fn names(server: &Server, query: &str) -> Vec<String> {
    let listed = get(&server.api(&format!("/packages?{query}")), &[]).json();
    listed.as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap().to_owned()).collect()
}

#[test]
fn downloads_are_counted_shown_sorted_and_kept_across_a_restart() {
    // batches every second, as the test cannot wait long
    let server = Server::start_with("hexyard", &[("HEXYARD_DOWNLOADS_FLUSH_SECONDS", "1")]);
    let key = server.user_with_key("ann", &[]);
    for (name, version) in [("plug", "1.0.0"), ("plug", "1.1.0"), ("cowboy", "2.0.0"), ("ranch", "1.0.0")] {
        assert_eq!(server.publish(&key, &tarball(name, version, &[]), false).status, 201);
    }
    let first = fetch(&server, "plug-1.0.0", None);
    assert_eq!(first.status, 200);
    assert_eq!(fetch(&server, "plug-1.0.0", first.header("etag")).status, 304, "a revalidation counts too");
    fetch(&server, "plug-1.1.0", None);
    fetch(&server, "cowboy-2.0.0", None);
    assert_eq!(fetch(&server, "plug-9.9.9", None).status, 404, "not counted");

    // today's counts are in `all` at once (after a batch); day, week and recent are whole days
    let plug = server.downloads_reach("/packages/plug", "all", 3);
    assert_eq!(plug, serde_json::json!({"all": 3, "recent": 0, "week": 0, "day": 0}));
    assert_eq!(server.downloads_reach("/packages/plug/releases/1.0.0", "", 2), 2);
    assert_eq!(get(&server.api("/packages/plug/releases/1.1.0"), &[]).json()["downloads"], 1);
    assert_eq!(get(&server.api("/packages/ranch"), &[]).json()["downloads"]["all"], 0);
    assert_eq!(names(&server, "sort=downloads"), ["plug", "cowboy", "ranch"], "mix's sort");
    assert_eq!(names(&server, "sort=total_downloads"), ["plug", "cowboy", "ranch"]);
    assert_eq!(names(&server, "sort=name"), ["cowboy", "plug", "ranch"]);

    // earlier days, as the windows see them: yesterday, the week and the 90 days before today
    server.psql(
        "INSERT INTO package_downloads (package_id, day, downloads)
         SELECT id, (now() AT TIME ZONE 'UTC')::date - d.ago, d.n FROM packages,
         (VALUES (1, 5), (6, 7), (40, 11), (90, 13), (91, 17)) AS d(ago, n) WHERE name = 'ranch';
         UPDATE packages SET downloads = downloads + 53 WHERE name = 'ranch';",
    );
    let ranch = get(&server.api("/packages/ranch"), &[]).json()["downloads"].clone();
    assert_eq!(ranch, serde_json::json!({"all": 53, "recent": 36, "week": 12, "day": 5}));
    assert_eq!(names(&server, "sort=recent_downloads"), ["ranch", "cowboy", "plug"]);

    // counts not yet added when the server stops are added as it stops
    let server = server.restart_with(&[("HEXYARD_DOWNLOADS_FLUSH_SECONDS", "3600")]);
    fetch(&server, "cowboy-2.0.0", None);
    let server = server.restart_with(&[("HEXYARD_DOWNLOADS_FLUSH_SECONDS", "1")]);
    assert_eq!(get(&server.api("/packages/cowboy"), &[]).json()["downloads"]["all"], 2);
    fetch(&server, "cowboy-2.0.0", None);
    assert_eq!(server.downloads_reach("/packages/cowboy", "all", 3)["all"], 3, "counting goes on");
}

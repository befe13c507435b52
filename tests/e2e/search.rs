//! Package search (issue 11): hex.pm's query syntax over Postgres full-text search, in the
//! order a user expects, with the real clients (`mix hex.package search`, hex_core's search as
//! rebar3 bundles it); private packages only for their members; odd input never a 5xx.

use crate::mix::{Mix, text};
use crate::support::*;

/// name, description, build tool, dependencies, `extra`.
const PACKAGES: &[(&str, &str, &str, &[&str], &str)] = &[
    ("json", "A JSON encoder and decoder", "mix", &[], "null"),
    ("jason", "A blazing fast JSON parser and generator", "mix", &[], "null"),
    ("poison", "An incredibly fast, pure Elixir JSON library", "mix", &[], "null"),
    ("plug", "Compose web applications with functions", "mix", &[], "null"),
    ("plug_cowboy", "A Plug adapter for Cowboy", "mix", &["plug"], "null"),
    ("cowboy", "Small, fast, modern HTTP server", "rebar3", &[], "null"),
    ("nerves_system", "A base system for embedded devices", "mix", &[], r#"{"type": "nerves"}"#),
    ("ex", "Tiny", "mix", &[], "null"),
];

fn publish_all(server: &Server, key: &str) {
    for (name, description, tool, deps, extra) in PACKAGES {
        let deps: Vec<(&str, &str, Option<&str>)> = deps.iter().map(|d| (*d, "~> 1.0", None)).collect();
        let tarball = tarball_with(name, "1.0.0", &deps, |m| {
            m.description = Some(description.to_string());
            m.build_tools = vec![tool.to_string()];
            m.extra = serde_json::from_str(extra).unwrap();
        });
        let published = server.publish(key, &tarball, false);
        assert_eq!(published.status, 201, "{name}: {}", published.text());
    }
}

fn search(server: &Server, query: &str, key: Option<&str>) -> Response {
    let headers: Vec<(&str, &str)> = key.map(|k| ("authorization", k)).into_iter().collect();
    let encoded: String = query
        .bytes()
        .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect();
    get(&server.api(&format!("/packages?search={encoded}")), &headers)
}

fn names(resp: &Response) -> Vec<String> {
    assert_eq!(resp.status, 200, "{}", resp.text());
    resp.json().as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap().to_owned()).collect()
}

#[test]
fn every_query_form_finds_what_it_names_in_order() {
    let server = Server::start("hexyard");
    let ann = server.user_with_key("ann", &[]);
    publish_all(&server, &ann);
    // in the order of the answer (relevance, the default of a search), or as a set
    let ranked = [
        // the exact name first, then names starting with the first term, then the text's rank
        ("json", &["json", "jason", "poison"][..]),
        // every term must match: the name, or a word of the text ("the" asks nothing)
        ("json parser", &["jason"]),
        ("the json parser", &["jason"]),
        ("fast json", &["jason", "poison"]),
        ("JSON", &["json", "jason", "poison"]),
        ("plug", &["plug", "plug_cowboy"]),
        ("cowboy", &["cowboy", "plug_cowboy"]),
        ("ex", &["ex"]),
        ("cow*", &["cowboy"]),
        ("nothing_like_it", &[]),
    ];
    let sets = [
        ("*cowboy", &["cowboy", "plug_cowboy"][..]),
        ("name:plug", &["plug"]),
        ("name:plug*", &["plug", "plug_cowboy"]),
        ("description:fast", &["cowboy", "jason", "poison"]),
        ("\"web applications\"", &["plug"]),
        ("depends:plug", &["plug_cowboy"]),
        ("depends:hexyard:plug", &["plug_cowboy"]),
        ("depends:hexpm:plug", &[]),
        ("build_tool:rebar3", &["cowboy"]),
        ("extra:type,nerves", &["nerves_system"]),
        ("fast build_tool:mix", &["jason", "poison"]),
        ("updated_after:2999-01-01T00:00:00Z", &[]),
    ];
    for (query, expected) in ranked {
        assert_eq!(names(&search(&server, query, None)), expected, "{query}");
    }
    for (query, expected) in sets {
        let mut found = names(&search(&server, query, None));
        found.sort();
        assert_eq!(found, expected, "{query}");
    }
    let everything = names(&search(&server, "updated_after:2000-01-01T00:00:00Z", None));
    assert_eq!(everything.len(), PACKAGES.len());
    // each result names its repository; the sorts apply to a search too
    let listed = get(&server.api("/packages?search=fast&sort=name"), &[]).json();
    assert_eq!(listed[0]["name"], "cowboy");
    assert_eq!(listed[0]["repository"], "hexyard");
    let by_name = names(&get(&server.api("/packages?search=json&sort=name&per_page=2"), &[]));
    assert_eq!(by_name, ["json", "jason"], "the exact name first, then by name, two a page");
    let second = names(&get(&server.api("/packages?search=json&sort=name&per_page=2&page=2"), &[]));
    assert_eq!(second, ["poison"]);
}

#[test]
fn odd_queries_get_a_4xx_or_an_empty_page_never_a_5xx() {
    let server = Server::start("hexyard");
    let ann = server.user_with_key("ann", &[]);
    publish_all(&server, &ann);
    let long = "json ".repeat(2048);
    for query in [
        "\"unbalanced",
        "colour:red",
        r"&|!():*'\",
        "' OR 1=1 --",
        "a:b:c:d",
        "json & !poison",
        "!!!",
        "*",
        "extra:a,b,c",
        "name:%",
        "description:&|!",
        long.as_str(),
        "updated_after:yesterday",
        "extra:novalue",
    ] {
        let resp = search(&server, query, None);
        assert!(resp.status == 200 || resp.status == 422, "{query:.40}: {} {}", resp.status, resp.text());
        if resp.status == 422 {
            assert!(resp.json()["errors"]["search"].is_string(), "{query:.40}: {}", resp.text());
        }
    }
    assert_eq!(search(&server, "updated_after:yesterday", None).status, 422);
    assert_eq!(search(&server, &long, None).status, 422);
    for (params, status) in [
        ("page=0", 422),
        ("page=-1", 422),
        ("page=abc", 422),
        ("per_page=-1", 422),
        ("per_page=abc", 422),
        ("per_page=100000", 200),
        ("per_page=0", 200),
        ("sort=sideways", 422),
    ] {
        let resp = get(&server.api(&format!("/packages?search=json&{params}")), &[]);
        assert_eq!(resp.status, status, "{params}: {}", resp.text());
        let field = params.split('=').next().unwrap();
        if status == 422 {
            assert!(resp.json()["errors"][field].is_string(), "{params}: {}", resp.text());
        }
    }
    assert_eq!(names(&get(&server.api("/packages?search=json&per_page=0"), &[])), Vec::<String>::new());
}

#[test]
fn private_packages_are_found_by_their_members_only() {
    let server = Server::start("hexyard");
    let ann = server.user_with_key("ann", &[]);
    let bob = server.user_with_key("bob", &[]);
    publish_all(&server, &ann);
    server.admin(&["org", "create", "acme", "--owner", "ann"]);
    let secret = tarball_with("secret_json", "1.0.0", &[], |m| m.description = Some("JSON for secrets".into()));
    let published = server.publish_to("acme", &ann, &secret);
    assert_eq!(published.status, 201);
    let member = search(&server, "json", Some(&ann)).json();
    let found: Vec<(String, String)> = member
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["repository"].as_str().unwrap().to_owned(), p["name"].as_str().unwrap().to_owned()))
        .collect();
    assert!(found.contains(&("acme".into(), "secret_json".into())), "{found:?}");
    assert!(found.contains(&("hexyard".into(), "json".into())), "{found:?}");
    for outsider in [None, Some(bob.as_str())] {
        assert!(!names(&search(&server, "json", outsider)).contains(&"secret_json".to_owned()), "{outsider:?}");
        assert!(!names(&search(&server, "secret", outsider)).contains(&"secret_json".to_owned()));
        let headers: Vec<(&str, &str)> = outsider.map(|k| ("authorization", k)).into_iter().collect();
        assert_eq!(get(&server.api("/repos/acme/packages?search=json"), &headers).status, 404);
    }
    assert_eq!(
        names(&get(&server.api("/repos/acme/packages?search=json"), &[("authorization", &ann)])),
        ["secret_json"]
    );
}

#[test]
fn the_real_clients_search() {
    let server = Server::start("hexyard");
    let ann = server.user_with_key("ann", &[]);
    publish_all(&server, &ann);
    // a download, so `sort=downloads` (mix's) has something to order by
    let fetched = get(&format!("{}/repo/tarballs/poison-1.0.0.tar", server.url), &[]);
    assert_eq!(fetched.status, 200);
    server.downloads_reach("/packages/poison", "all", 1);

    let mix = Mix::new();
    let out = text(&mix.run(mix.home.path(), &["hex.package", "search", "json"], &[("HEX_API_URL", &server.api(""))]));
    assert!(out.contains("search=json&sort=downloads\") => 200"), "{out}");
    let rows: Vec<&str> = out.lines().filter(|l| l.contains(&format!("{}/packages/", server.url))).collect();
    let order: Vec<&str> = rows
        .iter()
        .filter_map(|l| PACKAGES.iter().map(|p| p.0).find(|n| l.split_whitespace().any(|w| w == *n)))
        .collect();
    assert_eq!(order, ["json", "poison", "jason"], "exact name, then downloads:\n{out}");
    assert!(rows[0].contains("1.0.0") && rows[0].contains("A JSON encoder and decoder"), "{out}");

    // hex_core as rebar3 bundles it
    let code = format!(
        r#"
        {{ok, _}} = application:ensure_all_started(inets),
        Config = maps:merge(r3_hex_core:default_config(), #{{api_url => {api}}}),
        {{ok, {{200, _, Found}}}} = r3_hex_api_package:search(Config, <<"fast build_tool:mix">>, [{{sort, <<"name">>}}]),
        [io:format("found ~s ~p~n", [maps:get(<<"name">>, P), maps:get(<<"all">>, maps:get(<<"downloads">>, P))]) || P <- Found],
        halt().
        "#,
        api = erl_bin(&server.api("")),
    );
    let out = erl(&code);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(stdout.lines().collect::<Vec<_>>(), ["found jason 0", "found poison 1"]);
}

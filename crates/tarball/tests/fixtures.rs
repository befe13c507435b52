//! The tarballs that real clients made (../shared/fixtures) read back exactly.

mod common;

use common::{fixture, fixtures};
use hexyard_tarball::{Limits, Package, build, docs, hex_lower, hex_upper, read};
use hexyard_term::text;

fn read_fixture(name: &str) -> Package {
    read(&fixture(name), &Limits::default()).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn foo_made_by_mix() {
    let p = read_fixture("foo-0.1.0.tar");
    let m = &p.metadata;
    assert_eq!(m.name.as_str(), "foo");
    assert_eq!(m.version.to_string(), "0.1.0");
    assert_eq!(m.app, "foo");
    assert_eq!(m.description.as_deref(), Some("Foo test package"));
    assert_eq!(m.licenses, ["MIT"]);
    assert_eq!(m.links.get("GitHub").map(String::as_str), Some("https://example.com/foo"));
    assert_eq!(m.elixir.as_ref().map(|r| r.as_str()), Some("~> 1.14"));
    assert_eq!(m.build_tools, ["mix"]);
    assert_eq!(m.files, ["lib", "lib/foo.ex", ".formatter.exs", "mix.exs", "README.md"]);
    assert!(m.requirements.is_empty());
    assert_eq!(hex_lower(&p.outer_checksum), "657d341ace7702da1d4052ec5621b511ac1e092c10223671e2cba90644d5df17");
    assert!(hex_upper(&p.inner_checksum).starts_with("25B1E260"));
    let paths: Vec<&str> = p.contents.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, ["lib/foo.ex", ".formatter.exs", "mix.exs", "README.md"]);
}

#[test]
fn bar_with_list_of_kvlists_requirements() {
    let p = read_fixture("bar-1.2.0-rc.1.tar");
    let m = &p.metadata;
    assert_eq!(m.version.to_string(), "1.2.0-rc.1");
    assert!(m.version.is_pre());
    assert_eq!(m.licenses, ["Apache-2.0", "MIT"]);
    assert_eq!(m.extra, serde_json::json!({"nested": {"k": "v"}, "type": "nerves"}));
    assert_eq!(m.requirements.len(), 2);
    let foo = &m.requirements[0];
    assert_eq!((foo.name.as_str(), foo.app.as_str(), foo.requirement.as_str()), ("foo", "foo", "~> 0.1"));
    assert!(!foo.optional);
    assert_eq!(foo.repository.as_ref().map(|r| r.as_str()), Some("acme"));
    let jason = &m.requirements[1];
    assert_eq!((jason.name.as_str(), jason.requirement.as_str()), ("jason", "~> 1.4"));
    assert!(jason.optional);
    assert!(jason.repository.as_ref().is_some_and(|r| r.is_hexpm()));
    assert_eq!(hex_lower(&p.outer_checksum), "05cb305ae5d77b616b96be8153edd76a9d2cb0f5b1094ec8b455219896e2164f");
    assert!(hex_upper(&p.inner_checksum).starts_with("A03070D3"));
}

#[test]
fn baz_with_kvlist_requirements_from_hex_core() {
    let p = read_fixture("baz-0.3.0.tar");
    let m = &p.metadata;
    assert_eq!((m.name.as_str(), m.version.to_string().as_str()), ("baz", "0.3.0"));
    assert_eq!(m.build_tools, ["rebar3"]);
    assert_eq!(m.requirements.len(), 1);
    let foo = &m.requirements[0];
    assert_eq!((foo.name.as_str(), foo.requirement.as_str(), foo.optional), ("foo", "~> 0.1.0", false));
    assert_eq!(foo.repository.as_ref().map(|r| r.as_str()), Some("acme"));
    assert_eq!(hex_lower(&p.outer_checksum), "30558eff50ab0a4e24cc994fc5d7bb06f727429a05809bb08106cb535ba5fef9");
    assert_eq!(p.contents.iter().map(|e| e.path.as_str()).collect::<Vec<_>>(), ["src/baz.erl"]);
}

#[test]
fn metadata_config_of_each_fixture_round_trips() {
    for name in ["foo-0.1.0.tar", "bar-1.2.0-rc.1.tar", "baz-0.3.0.tar"] {
        let p = read_fixture(name);
        let terms = text::parse(&p.metadata_config).unwrap();
        let written = text::write(&terms);
        assert_eq!(text::parse(written.as_bytes()).unwrap(), terms, "{name}");
    }
}

#[test]
fn built_tarballs_read_back_to_the_same_metadata() {
    for name in ["foo-0.1.0.tar", "bar-1.2.0-rc.1.tar", "baz-0.3.0.tar"] {
        let original = read_fixture(name);
        let files = vec![("lib/x.ex".to_owned(), b"defmodule X do end".to_vec()), ("mix.exs".to_owned(), vec![])];
        let built = build(&original.metadata, &files);
        assert_eq!(build(&original.metadata, &files), built, "deterministic");
        let again = read(&built, &Limits::default()).unwrap();
        assert_eq!(again.metadata, original.metadata, "{name}");
        assert_eq!(again.contents.len(), 2);
    }
}

#[test]
fn docs_fixture_lists_its_entries() {
    let bytes = std::fs::read(fixtures().join("tarballs/foo-0.1.0-docs.tar.gz")).unwrap();
    let docs = docs::unpack(&bytes, &Limits::default()).unwrap();
    let mut paths: Vec<&str> = docs.files.iter().map(|f| f.path.as_str()).collect();
    paths.sort();
    assert_eq!(paths, ["Foo.html", "dist/app.css", "index.html", "search_data.json"]);
}

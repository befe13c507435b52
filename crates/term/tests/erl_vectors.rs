//! Our encoder against the real `erlang:term_to_binary/1`: each vector is an Erlang term in
//! source form and the same term built in Rust. One `erl` run (Debian's erlang-nox, as installed
//! by the README's test command) prints the real bytes; ours must be equal, and our decoder
//! must read erl's bytes back to the same term.

use std::process::Command;

use hexyard_term::{Term, etf};

fn bin(s: &str) -> Term {
    Term::binary(s)
}

fn map(pairs: Vec<(&str, Term)>) -> Term {
    Term::Map(pairs.into_iter().map(|(k, v)| (bin(k), v)).collect())
}

fn vectors() -> Vec<(&'static str, Term)> {
    vec![
        ("nil", Term::atom("nil")),
        ("true", Term::atom("true")),
        ("false", Term::atom("false")),
        ("0", Term::Integer(0)),
        ("255", Term::Integer(255)),
        ("256", Term::Integer(256)),
        ("-1", Term::Integer(-1)),
        ("2147483647", Term::Integer(2147483647)),
        ("-2147483648", Term::Integer(-2147483648)),
        ("2147483648", Term::Integer(2147483648)),
        ("-2147483649", Term::Integer(-2147483649)),
        ("18446744073709551615", Term::Integer(u64::MAX as i128)),
        ("-170141183460469231731687303715884105728", Term::Integer(i128::MIN)),
        ("1.5", Term::Float(1.5)),
        ("-0.1", Term::Float(-0.1)),
        ("1.0e300", Term::Float(1.0e300)),
        ("<<>>", Term::Binary(vec![])),
        ("<<\"hello\">>", bin("hello")),
        ("<<\"héllo wörld ✓ 日本\"/utf8>>", bin("héllo wörld ✓ 日本")),
        ("<<0,255,10>>", Term::Binary(vec![0, 255, 10])),
        ("[]", Term::List(vec![])),
        ("\"abc\"", Term::List("abc".bytes().map(|b| Term::Integer(b.into())).collect())),
        ("[1,300]", Term::List(vec![Term::Integer(1), Term::Integer(300)])),
        ("[<<\"a\">>,nil,[true]]", Term::List(vec![bin("a"), Term::atom("nil"), Term::List(vec![Term::atom("true")])])),
        ("{}", Term::Tuple(vec![])),
        ("{<<\"k\">>,1}", Term::Tuple(vec![bin("k"), Term::Integer(1)])),
        ("#{}", Term::Map(vec![])),
        (
            "#{<<\"b\">> => nil, <<\"a\">> => [1,2], <<\"ab\">> => 1.0}",
            map(vec![
                ("b", Term::atom("nil")),
                ("a", Term::List(vec![Term::Integer(1), Term::Integer(2)])),
                ("ab", Term::Float(1.0)),
            ]),
        ),
        (
            "#{<<\"status\">> => 422, <<\"message\">> => <<\"Validation error(s)\">>, \
              <<\"errors\">> => #{<<\"name\">> => <<\"has already been taken\">>, \
              <<\"requirements\">> => #{<<\"foo\">> => <<\"package does not exist\">>}}}",
            map(vec![
                ("status", Term::Integer(422)),
                ("message", bin("Validation error(s)")),
                (
                    "errors",
                    map(vec![
                        ("name", bin("has already been taken")),
                        ("requirements", map(vec![("foo", bin("package does not exist"))])),
                    ]),
                ),
            ]),
        ),
        (
            "#{<<\"downloads\">> => #{<<\"all\">> => 12345678901, <<\"day\">> => 0}, \
              <<\"releases\">> => [#{<<\"version\">> => <<\"1.0.0\">>, <<\"has_docs\">> => false}], \
              <<\"retirement\">> => nil, <<\"owners\">> => [], <<\"score\">> => -2.5}",
            map(vec![
                ("downloads", map(vec![("all", Term::Integer(12345678901)), ("day", Term::Integer(0))])),
                ("releases", Term::List(vec![map(vec![("version", bin("1.0.0")), ("has_docs", Term::atom("false"))])])),
                ("retirement", Term::atom("nil")),
                ("owners", Term::List(vec![])),
                ("score", Term::Float(-2.5)),
            ]),
        ),
    ]
}

#[test]
fn encoder_matches_real_term_to_binary() {
    let vectors = vectors();
    let dir = std::env::temp_dir().join(format!("hexyard-etf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("vectors.config");
    let source: String = vectors.iter().map(|(text, _)| format!("{text}.\n")).collect();
    std::fs::write(&file, source).unwrap();

    let script = format!(
        "{{ok, Terms}} = file:consult(\"{}\"), \
         [io:format(\"~s~n\", [binary:encode_hex(term_to_binary(T))]) || T <- Terms], halt().",
        file.display()
    );
    let output = Command::new("erl")
        .args(["-noshell", "-eval", &script])
        .output()
        .expect("erl is needed for this test: apt-get install erlang-nox (the README's test command does)");
    assert!(output.status.success(), "erl failed: {}", String::from_utf8_lossy(&output.stderr));
    let lines: Vec<String> = String::from_utf8(output.stdout).unwrap().lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), vectors.len());

    for ((text, term), hex) in vectors.iter().zip(&lines) {
        let real: Vec<u8> =
            (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect();
        assert_eq!(etf::encode(term), real, "encoding {text}");
        let decoded = etf::decode(&real).unwrap_or_else(|e| panic!("decoding {text}: {e}"));
        assert_eq!(etf::encode(&decoded), real, "decoding {text}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

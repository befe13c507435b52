use proptest::prelude::*;

use super::*;

fn bin(s: &str) -> Term {
    Term::binary(s)
}

fn one(text: &str) -> Term {
    let mut terms = parse(text.as_bytes()).unwrap_or_else(|e| panic!("{text:?}: {e}"));
    assert_eq!(terms.len(), 1);
    terms.remove(0)
}

#[test]
fn parses_what_mix_writes() {
    let text = "{<<\"app\">>,<<\"foo\">>}.\n{<<\"files\">>,\n [<<\"lib\">>,<<\"mix.exs\">>]}.\n\
                {<<\"requirements\">>,[[{<<\"name\">>,<<\"a\">>},{<<\"optional\">>,false}]]}.\n";
    let terms = parse(text.as_bytes()).unwrap();
    assert_eq!(terms[0], Term::Tuple(vec![bin("app"), bin("foo")]));
    assert_eq!(terms[1], Term::Tuple(vec![bin("files"), Term::List(vec![bin("lib"), bin("mix.exs")])]));
    assert_eq!(
        terms[2],
        Term::Tuple(vec![
            bin("requirements"),
            Term::List(vec![Term::List(vec![
                Term::Tuple(vec![bin("name"), bin("a")]),
                Term::Tuple(vec![bin("optional"), Term::atom("false")]),
            ])])
        ])
    );
}

#[test]
fn binaries_follow_erlang() {
    assert_eq!(one("<<\"é\"/utf8>>."), Term::Binary("é".as_bytes().to_vec()));
    // without /utf8, a character below 256 is one byte, as in Erlang
    assert_eq!(one("<<\"é\">>."), Term::Binary(vec![0xe9]));
    // a character that does not fit a byte keeps the string in UTF-8 (Gleam writes these)
    assert_eq!(one("<<\"Zoë — ok\">>."), Term::Binary("Zoë — ok".as_bytes().to_vec()));
    assert_eq!(one("<<1,2,255>>."), Term::Binary(vec![1, 2, 255]));
    assert_eq!(one("<<\"x\",\"y\"/utf8, 33>>."), Term::Binary(b"xy!".to_vec()));
    assert_eq!(one("<<>>."), Term::Binary(vec![]));
    assert_eq!(one("<<\"a\\\"b\">>."), bin("a\"b"));
}

#[test]
fn strings_and_escapes() {
    let chars = |s: &str| Term::List(s.chars().map(|c| Term::Integer(c as i128)).collect());
    assert_eq!(one(r#""str\n\x41\101\s\^A\d"."#), chars("str\nx41A \u{1}\u{7f}"));
    assert_eq!(one("\"a\" \"b\"."), chars("ab"));
    assert_eq!(one("\"\"."), Term::List(vec![]));
}

#[test]
fn numbers_atoms_maps_tuples() {
    assert_eq!(one("-12."), Term::Integer(-12));
    assert_eq!(one("+ 7."), Term::Integer(7));
    assert_eq!(one("123456789012345678901234567890."), Term::Integer(123456789012345678901234567890));
    assert_eq!(one("true."), Term::atom("true"));
    assert_eq!(one("'with space'."), Term::atom("with space"));
    assert_eq!(
        one("#{<<\"k\">> => 1, a => []}."),
        Term::Map(vec![(bin("k"), Term::Integer(1)), (Term::atom("a"), Term::List(vec![])),])
    );
    assert_eq!(one("{}."), Term::Tuple(vec![]));
    assert_eq!(one("#{}."), Term::Map(vec![]));
}

#[test]
fn latin1_fallback() {
    // 0xe9 alone is not UTF-8: the text is read as latin-1
    let terms = parse(b"{<<\"d\">>,<<\"caf\xe9\">>}.").unwrap();
    assert_eq!(terms[0], Term::Tuple(vec![bin("d"), Term::Binary(b"caf\xe9".to_vec())]));
}

#[test]
fn refuses_what_safe_erl_term_refuses() {
    for (text, needle) in [
        ("1.5.", "floats"),
        ("16#ff.", "radix"),
        ("$a.", "unexpected character"),
        ("%c\n1.", "unexpected character"),
        ("[1|2].", "improper"),
        ("A.", "variables"),
        ("_.", "variables"),
        ("{1,2}", "end of the text"),
        ("{1,2.", "expected ',' or '}'"),
        ("<<\"a\"/binary>>.", "/utf8"),
        ("<<256>>.", "not a byte"),
        ("<<a>>.", "string or a byte"),
        ("\"abc.", "unterminated"),
        ("#{1 2}.", "'=>'"),
        ("- a.", "number"),
        ("999999999999999999999999999999999999999999.", "too large"),
    ] {
        let err = parse(text.as_bytes()).unwrap_err();
        assert!(err.message.contains(needle), "{text:?}: {err}");
    }
}

#[test]
fn errors_carry_line_and_column() {
    let err = parse(b"{<<\"a\">>,1}.\n{<<\"b\">>, 1.5}.").unwrap_err();
    assert_eq!((err.line, err.column), (2, 12));
    assert_eq!(err.to_string(), "line 2, column 12: floats are not allowed");
}

#[test]
fn limits_size_and_depth() {
    let big = vec![b' '; MAX_TEXT_LEN + 1];
    assert!(parse(&big).unwrap_err().message.contains("larger"));
    let deep = format!("{}{}.", "[".repeat(MAX_DEPTH + 2), "]".repeat(MAX_DEPTH + 2));
    assert!(parse(deep.as_bytes()).unwrap_err().message.contains("deeper"));
    let ok = format!("{}{}.", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
    assert!(parse(ok.as_bytes()).is_ok());
}

#[test]
fn writes_binaries_by_content() {
    let mut out = String::new();
    write_term(&bin("plain \"q\" \\ \n"), &mut out);
    assert_eq!(out, r#"<<"plain \"q\" \\ \n">>"#);
    out.clear();
    write_term(&bin("café"), &mut out);
    assert_eq!(out, "<<\"café\"/utf8>>");
    out.clear();
    write_term(&Term::Binary(vec![b'a', 0xff, 1]), &mut out);
    assert_eq!(out, r#"<<"a\377\001">>"#);
}

fn term(depth: u32) -> impl Strategy<Value = Term> {
    let leaf = prop_oneof![
        "[a-z][a-zA-Z0-9_@]{0,8}".prop_map(Term::Atom),
        ".{0,6}".prop_map(Term::Atom),
        any::<i64>().prop_map(|n| Term::Integer(n as i128)),
        proptest::collection::vec(any::<u8>(), 0..12).prop_map(Term::Binary),
        ".{0,12}".prop_map(|s| Term::binary(&s)),
    ];
    leaf.prop_recursive(depth, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Term::List),
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Term::Tuple),
            proptest::collection::vec((inner.clone(), inner), 0..4).prop_map(Term::Map),
        ]
    })
}

proptest! {
    #[test]
    fn write_then_parse_is_identity(terms in proptest::collection::vec(term(4), 0..5)) {
        let text = write(&terms);
        let parsed = parse(text.as_bytes()).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(&parsed, &terms);
        prop_assert_eq!(write(&parsed), text);
    }

    #[test]
    fn never_panics_on_arbitrary_input(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = parse(&bytes);
    }
}

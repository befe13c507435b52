use super::*;
use crate::Term;

fn bin(s: &str) -> Term {
    Term::binary(s)
}

#[test]
fn encodes_known_bytes() {
    // checked against erl in tests/erl_vectors.rs; these few pin the format here too
    assert_eq!(encode(&Term::atom("true")), [131, 100, 0, 4, b't', b'r', b'u', b'e']);
    assert_eq!(encode(&Term::Map(vec![])), [131, 116, 0, 0, 0, 0]);
    assert_eq!(
        encode(&Term::List(vec![Term::Integer(1), Term::Integer(300)])),
        [131, 108, 0, 0, 0, 2, 97, 1, 98, 0, 0, 1, 44, 106]
    );
    assert_eq!(encode(&Term::Float(1.5)), [131, 70, 63, 248, 0, 0, 0, 0, 0, 0]);
}

#[test]
fn round_trips() {
    let term = Term::Map(vec![
        (bin("b"), Term::List(vec![Term::Integer(-1), Term::Integer(1 << 40), Term::Integer(-(1 << 100))])),
        (bin("a"), Term::Tuple(vec![Term::atom("nil"), Term::Float(-0.25), bin("é")])),
        (bin("c"), Term::List(vec![Term::Integer(104), Term::Integer(105)])),
        (bin("d"), Term::Integer(i128::MIN)),
        (bin("e"), Term::Integer(i128::MAX)),
    ]);
    let decoded = decode(&encode(&term)).unwrap();
    // the encoder sorts map keys; compare as sorted
    let Term::Map(mut want) = term else { unreachable!() };
    want.sort_by(|a, b| a.0.erlang_cmp(&b.0));
    assert_eq!(decoded, Term::Map(want));
}

#[test]
fn accepts_the_other_atom_encodings() {
    for bytes in [
        vec![131, 115, 3, b'n', b'i', b'l'],
        vec![131, 118, 0, 3, b'n', b'i', b'l'],
        vec![131, 119, 3, b'n', b'i', b'l'],
    ] {
        assert_eq!(decode(&bytes), Ok(Term::atom("nil")));
    }
}

#[test]
fn refuses_hostile_forms() {
    let cases: Vec<(Vec<u8>, EtfError)> = vec![
        (vec![], EtfError::Truncated),
        (vec![130, 106], EtfError::BadVersion),
        (vec![131, 80, 0, 0, 0, 1, 120, 156], EtfError::Compressed),
        (vec![131, 100, 0, 3, b'f', b'o', b'o'], EtfError::ForbiddenAtom("foo".into())),
        (
            vec![131, 119, 9, b'u', b'n', b'd', b'e', b'f', b'i', b'n', b'e', b'd'],
            EtfError::ForbiddenAtom("undefined".into()),
        ),
        (vec![131, 88, 119, 1, b'a', 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0], EtfError::ForbiddenKind("pids")),
        (vec![131, 103, 100, 0, 1, b'a', 0, 0, 0, 1, 0, 0, 0, 0, 0], EtfError::ForbiddenKind("pids")),
        (vec![131, 89, 119, 1, b'a', 0, 0, 0, 1, 0, 0, 0, 0], EtfError::ForbiddenKind("ports")),
        (vec![131, 90, 0, 1, 119, 1, b'a', 0, 0, 0, 0, 0, 0, 0, 1], EtfError::ForbiddenKind("references")),
        (vec![131, 112, 0, 0, 0, 0], EtfError::ForbiddenKind("funs")),
        (vec![131, 113, 119, 1, b'm', 119, 1, b'f', 97, 0], EtfError::ForbiddenKind("funs")),
        (vec![131, 77, 0, 0, 0, 1, 3, 0xff], EtfError::ForbiddenKind("bit strings")),
        (vec![131, 82, 0], EtfError::ForbiddenKind("atom cache references")),
        (vec![131, 200], EtfError::UnknownTag(200)),
        // a list claiming four billion elements in a few bytes
        (vec![131, 108, 0xff, 0xff, 0xff, 0xff, 106], EtfError::Truncated),
        (vec![131, 116, 0xff, 0xff, 0xff, 0xff], EtfError::Truncated),
        (vec![131, 109, 0xff, 0xff, 0xff, 0xff, 1], EtfError::Truncated),
        (vec![131, 108, 0, 0, 0, 1, 97, 1, 97, 2], EtfError::ImproperList),
        (vec![131, 106, 106], EtfError::TrailingBytes(1)),
        (vec![131, 116, 0, 0, 0, 2, 97, 1, 106, 97, 1, 106], EtfError::DuplicateKey),
        (vec![131, 110, 17, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], EtfError::IntegerTooLarge),
        (vec![131, 111, 0, 0, 1, 0, 0], EtfError::Truncated),
        (vec![131, 70, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0], EtfError::Invalid("float")),
        (vec![131, 70, 0xff, 0xf0, 0, 0, 0, 0, 0, 0], EtfError::Invalid("float")),
    ];
    for (bytes, want) in cases {
        assert_eq!(decode(&bytes), Err(want.clone()), "{bytes:?}");
    }
}

#[test]
fn bounds_nesting() {
    let mut bytes = vec![131];
    for _ in 0..=MAX_DEPTH {
        bytes.extend([108, 0, 0, 0, 1]);
    }
    bytes.push(106);
    bytes.extend(std::iter::repeat_n(106, MAX_DEPTH + 1));
    assert_eq!(decode(&bytes), Err(EtfError::TooDeep(MAX_DEPTH)));
    // one level less is fine
    assert!(decode_with_depth(&bytes, MAX_DEPTH + 1).is_ok());
    // a million nested lists cannot blow the stack either
    let mut deep = vec![131];
    deep.extend(std::iter::repeat_n([108, 0, 0, 0, 1], 1_000_000).flatten());
    assert_eq!(decode(&deep), Err(EtfError::TooDeep(MAX_DEPTH)));
}

#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Body {
    name: String,
    replace: Option<bool>,
    count: u64,
}

#[test]
fn serde_through_etf() {
    let body = Body { name: "plug".into(), replace: None, count: 7 };
    let bytes = to_vec(&body).unwrap();
    assert_eq!(
        decode(&bytes).unwrap(),
        Term::Map(vec![
            (bin("count"), Term::Integer(7)),
            (bin("name"), bin("plug")),
            (bin("replace"), Term::atom("nil")),
        ])
    );
    assert_eq!(from_slice::<Body>(&bytes).unwrap(), body);
    assert!(matches!(from_slice::<Body>(&[131, 106]), Err(FromEtfError::Shape(_))));
    assert!(matches!(from_slice::<Body>(&[131, 109, 0, 0, 0, 1, 0xff]), Err(FromEtfError::Json(_))));
}

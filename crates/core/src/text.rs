//! The rule for text users send: no control characters. NUL cannot be stored at all (Postgres
//! refuses it in text), and the others (C0 but tab, line feed and carriage return; DEL; C1)
//! have no place in names, emails, messages or descriptions and can forge log lines or headers.
//! Every way text comes in — paths, queries, forms, JSON and ETF bodies, tarball metadata — is
//! checked with this one function before anything is stored or compared.

/// Whether `c` is a control character text may not hold.
pub fn is_forbidden(c: char) -> bool {
    c.is_control() && !matches!(c, '\t' | '\n' | '\r')
}

/// The first forbidden character of `text`, if any.
pub fn forbidden_char(text: &str) -> Option<char> {
    text.chars().find(|c| is_forbidden(*c))
}

/// The first control character of `text`, line breaks and tabs included: for one-line text
/// (paths, query parameters, redirect targets), where a line break could split a header.
pub fn forbidden_in_line(text: &str) -> Option<char> {
    text.chars().find(|c| c.is_control())
}

/// What an error says about a value with a forbidden character.
pub fn message(c: char) -> String {
    format!("must not contain control characters (found U+{:04X})", u32::from(c))
}

/// The first string of a JSON value (keys too) holding a forbidden character: the field, as the
/// value's top-level key (or `body` for a bare value), and the message.
pub fn find_in_json(value: &serde_json::Value) -> Option<(String, String)> {
    fn walk(value: &serde_json::Value) -> Option<char> {
        match value {
            serde_json::Value::String(s) => forbidden_char(s),
            serde_json::Value::Array(items) => items.iter().find_map(walk),
            serde_json::Value::Object(map) => map.iter().find_map(|(k, v)| forbidden_char(k).or_else(|| walk(v))),
            _ => None,
        }
    }
    match value {
        serde_json::Value::Object(map) => map.iter().find_map(|(key, v)| {
            let c = forbidden_char(key).or_else(|| walk(v))?;
            let field = if forbidden_char(key).is_some() { "body".to_owned() } else { key.clone() };
            Some((field, message(c)))
        }),
        other => walk(other).map(|c| ("body".to_owned(), message(c))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_found_and_whitespace_is_not() {
        assert_eq!(forbidden_char("plain text, ünïcödé ✓"), None);
        assert_eq!(forbidden_char("two\nlines\r\n\tindented"), None);
        for c in ['\0', '\u{1}', '\u{1b}', '\u{7f}', '\u{85}', '\u{9f}'] {
            assert_eq!(forbidden_char(&format!("a{c}b")), Some(c));
        }
        let body = serde_json::json!({"name": "ok", "meta": {"links": {"x": "bad\u{0}"}}});
        let (field, message) = find_in_json(&body).unwrap();
        assert_eq!(field, "meta");
        assert!(message.contains("U+0000"), "{message}");
        assert_eq!(find_in_json(&serde_json::json!({"a": ["fine", 1, null]})), None);
        assert_eq!(forbidden_in_line("/a\r\nb"), Some('\r'));
        assert_eq!(forbidden_in_line("/a b/ü"), None);
        assert_eq!(find_in_json(&serde_json::json!({"bad\u{1}key": 1})).unwrap().0, "body");
    }
}

//! hex.pm's package search syntax: free terms (`*` a wildcard), quoted phrases, and the fields
//! `name:`, `description:`, `depends:[REPO:]NAME`, `build_tool:`, `updated_after:ISO8601` and
//! `extra:KEY,…,VALUE`, their values quoted when they hold spaces. Every part must match, each
//! free term too. A field the syntax does not know is searched as free text.

use hexyard_storage::packages::SearchQuery;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::{Error, Result};

/// The longest query taken, in bytes.
pub const MAX_QUERY_BYTES: usize = 512;
/// The most terms and fields in one query.
pub const MAX_PARTS: usize = 16;

/// Parses a search as sent in `?search=`.
pub fn parse(raw: &str) -> Result<SearchQuery> {
    if raw.len() > MAX_QUERY_BYTES {
        return Err(Error::field("search", format!("is too long ({MAX_QUERY_BYTES} bytes at most)")));
    }
    let mut query = SearchQuery::default();
    let mut parts = 0;
    let mut rest = raw.trim_start();
    while !rest.is_empty() {
        parts += 1;
        if parts > MAX_PARTS {
            return Err(Error::field("search", format!("has too many terms ({MAX_PARTS} at most)")));
        }
        let (token, after) = next_token(rest);
        rest = after.trim_start();
        match token {
            Token::Phrase(text) => {
                let text = text.trim().to_lowercase();
                if !text.is_empty() {
                    query.phrases.push(text);
                }
            }
            Token::Field(key, value) => field(&mut query, key, value)?,
            Token::Word(word) => query.terms.extend(terms(word)),
        }
    }
    // a word such as `a/b/c/…` makes many terms
    if query.terms.len() > MAX_PARTS {
        return Err(Error::field("search", format!("has too many terms ({MAX_PARTS} at most)")));
    }
    Ok(query)
}

enum Token<'a> {
    Word(&'a str),
    Phrase(&'a str),
    Field(&'a str, &'a str),
}

const FIELDS: [&str; 6] = ["name", "description", "depends", "build_tool", "updated_after", "extra"];

/// The token at the start of `text` (not empty, no leading space) and what follows it. An
/// unbalanced quote runs to the end.
fn next_token(text: &str) -> (Token<'_>, &str) {
    if let Some(quoted) = text.strip_prefix('"') {
        let (inside, after) = quoted.split_once('"').unwrap_or((quoted, ""));
        return (Token::Phrase(inside), after);
    }
    let end = text.find(char::is_whitespace).unwrap_or(text.len());
    if let Some((key, _)) = text[..end].split_once(':')
        && FIELDS.contains(&key)
    {
        let value = &text[key.len() + 1..];
        if let Some(quoted) = value.strip_prefix('"') {
            let (inside, after) = quoted.split_once('"').unwrap_or((quoted, ""));
            return (Token::Field(key, inside), after);
        }
        let end = value.find(char::is_whitespace).unwrap_or(value.len());
        return (Token::Field(key, &value[..end]), &value[end..]);
    }
    (Token::Word(&text[..end]), &text[end..])
}

/// Free terms of a word: lowercase runs of letters, digits, `_` and `*` (a `/` or `:` between
/// words separates them).
fn terms(word: &str) -> Vec<String> {
    word.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '*'))
        .filter(|t| t.chars().any(|c| c != '*'))
        .map(str::to_lowercase)
        .collect()
}

fn field(query: &mut SearchQuery, key: &str, value: &str) -> Result<()> {
    let value = value.trim();
    let invalid = |message: &str| Error::field("search", format!("{key}: {message}"));
    match key {
        "name" => query.name = Some(value.to_lowercase()),
        "description" => query.description = Some(value.to_owned()),
        "build_tool" => query.build_tool = Some(value.to_lowercase()),
        "depends" => {
            let (repository, name) = value.split_once(':').map_or((None, value), |(r, n)| (Some(r), n));
            if name.is_empty() || repository.is_some_and(str::is_empty) {
                return Err(invalid("expected NAME or REPOSITORY:NAME"));
            }
            query.depends = Some(match repository {
                Some(r) => format!("{r}:{name}"),
                None => name.to_owned(),
            });
        }
        "updated_after" => {
            let at = OffsetDateTime::parse(value, &Rfc3339)
                .map_err(|_| invalid("expected an ISO 8601 date and time, such as 2024-01-31T00:00:00Z"))?;
            query.updated_after = Some(at);
        }
        "extra" => {
            let mut path: Vec<&str> = value.split(',').collect();
            let leaf = path.pop().unwrap_or_default();
            if path.is_empty() || path.iter().any(|k| k.is_empty()) {
                return Err(invalid("expected KEY,VALUE"));
            }
            let leaf = match leaf.parse::<i64>() {
                Ok(n) => serde_json::Value::from(n),
                Err(_) => serde_json::Value::from(leaf),
            };
            let nested = path.iter().rev().fold(leaf, |inner, key| serde_json::json!({ *key: inner }));
            query.extra.push(nested);
        }
        _ => unreachable!("only known fields are fields"),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(raw: &str) -> SearchQuery {
        parse(raw).unwrap_or_else(|e| panic!("{raw}: {e}"))
    }

    #[test]
    fn terms_phrases_and_fields() {
        let q = parsed(r#"  Plug cow* "web server" name:phoenix_* depends:hexpm:plug build_tool:Mix"#);
        assert_eq!(q.terms, ["plug", "cow*"]);
        assert_eq!(q.phrases, ["web server"]);
        assert_eq!(q.name.as_deref(), Some("phoenix_*"));
        assert_eq!(q.depends.as_deref(), Some("hexpm:plug"));
        assert_eq!(q.build_tool.as_deref(), Some("mix"));
        let q = parsed(r#"description:"json parser" extra:type,nerves extra:a,b,2 updated_after:2024-01-31T00:00:00Z"#);
        assert_eq!(q.description.as_deref(), Some("json parser"));
        assert_eq!(q.extra, [serde_json::json!({"type": "nerves"}), serde_json::json!({"a": {"b": 2}})]);
        assert_eq!(q.updated_after.map(|t| t.unix_timestamp()), Some(1_706_659_200));
        assert!(q.terms.is_empty());
        assert_eq!(parsed("depends:acme:secret").depends.as_deref(), Some("acme:secret"));
    }

    #[test]
    fn odd_input_is_searched_or_refused_by_name() {
        // metacharacters of LIKE and tsquery are only text
        assert_eq!(parsed(r"a&b|c !(d):* 'e' \f").terms, ["a", "b", "c", "d", "e", "f"]);
        assert_eq!(parsed(r#""unbalanced quote"#).phrases, ["unbalanced quote"]);
        assert_eq!(parsed("colour:red").terms, ["colour", "red"], "an unknown field is free text");
        assert_eq!(parsed("description:İstanbul").description.as_deref(), Some("İstanbul"));
        assert_eq!(parsed("").terms, Vec::<String>::new());
        for bad in ["updated_after:yesterday", "extra:novalue", "depends:", "depends::x"] {
            let e = parse(bad).unwrap_err();
            assert!(matches!(&e, Error::Invalid(fields) if fields.contains_key("search")), "{bad}: {e}");
        }
        assert!(parse(&"x ".repeat(400)).is_err(), "too long");
        assert!(parse(&"x ".repeat(17)).is_err(), "too many terms");
        assert!(parse(&"ab/".repeat(17)).is_err(), "too many terms in one word");
    }
}

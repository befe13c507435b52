//! The `Authorization` header forms Hex clients send.

/// What a request authenticates with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// `Basic base64(user:pass)`: key creation, and netrc.
    Basic { username: String, password: String },
    /// `Bearer TOKEN`: OAuth tokens.
    Bearer(String),
    /// Anything else is an API key, sent raw.
    Key(String),
}

/// Why an `Authorization` header could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid authentication information")]
pub struct MalformedCredentials;

impl Credentials {
    /// Reads a header value as hex.pm does: the exact prefixes `Basic ` and `Bearer `, anything
    /// else a key.
    pub fn parse(header: &str) -> Result<Credentials, MalformedCredentials> {
        if let Some(encoded) = header.strip_prefix("Basic ") {
            let decoded = base64_decode(encoded.trim()).ok_or(MalformedCredentials)?;
            let text = String::from_utf8(decoded).map_err(|_| MalformedCredentials)?;
            let (username, password) = text.split_once(':').ok_or(MalformedCredentials)?;
            Ok(Credentials::Basic { username: username.to_owned(), password: password.to_owned() })
        } else if let Some(token) = header.strip_prefix("Bearer ") {
            Ok(Credentials::Bearer(token.trim().to_owned()))
        } else {
            Ok(Credentials::Key(header.trim().to_owned()))
        }
    }
}

fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let bytes = text.trim_end_matches('=').as_bytes();
    if bytes.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= value(c)? << (18 - 6 * i);
        }
        for i in 0..chunk.len() - 1 {
            out.push((n >> (16 - 8 * i)) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_three_forms() {
        assert_eq!(
            Credentials::parse("Basic dXNlcjpwYXNzOndvcmQ="),
            Ok(Credentials::Basic { username: "user".into(), password: "pass:word".into() })
        );
        assert_eq!(Credentials::parse("Bearer abc"), Ok(Credentials::Bearer("abc".into())));
        assert_eq!(Credentials::parse("e2bfe5e65b92"), Ok(Credentials::Key("e2bfe5e65b92".into())));
        // a lowercase scheme is not Basic: hex.pm treats it as a key too
        assert_eq!(Credentials::parse("basic xyz"), Ok(Credentials::Key("basic xyz".into())));
        assert_eq!(Credentials::parse("Basic !!!"), Err(MalformedCredentials));
        assert_eq!(Credentials::parse("Basic bm9jb2xvbg=="), Err(MalformedCredentials));
    }

    #[test]
    fn base64_vectors() {
        for (plain, encoded) in [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foobar", "Zm9vYmFy")] {
            assert_eq!(base64_decode(encoded).unwrap(), plain.as_bytes());
        }
    }
}

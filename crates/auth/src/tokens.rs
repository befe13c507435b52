//! Random codes and tokens for sessions and OAuth, kept at rest only as SHA-256 hashes (they
//! are long and random, so a keyed hash adds nothing), and OAuth scopes.

use ring::rand::{SecureRandom, SystemRandom};

use crate::Permission;

/// The letters of a device flow's user code: no vowels (no words), no look-alikes (0/O, 1/I).
pub const USER_CODE_ALPHABET: &[u8] = b"23456789BCDFGHJKLMNPQRSTVWXYZ";

/// `bytes` random bytes in lowercase hex.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    SystemRandom::new().fill(&mut buf).expect("the system random source");
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// An 8-letter user code, shown without a hyphen (mix inserts one).
pub fn user_code() -> String {
    let mut buf = [0u8; 8];
    let rng = SystemRandom::new();
    let mut code = String::with_capacity(8);
    while code.len() < 8 {
        rng.fill(&mut buf).expect("the system random source");
        // 29 letters: reject bytes past the last whole multiple to stay uniform
        for b in buf {
            if (b as usize) < 256 - 256 % USER_CODE_ALPHABET.len() && code.len() < 8 {
                code.push(char::from(USER_CODE_ALPHABET[b as usize % USER_CODE_ALPHABET.len()]));
            }
        }
    }
    code
}

/// A user code as typed: upper-cased, hyphens and spaces dropped.
pub fn normalize_user_code(typed: &str) -> String {
    typed.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_uppercase()).collect()
}

pub fn sha256(text: &str) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA256, text.as_bytes()).as_ref().to_vec()
}

/// Reads a space-separated OAuth scope (`api repositories`, `api:write`, `repository:acme`).
pub fn parse_scopes(scope: &str) -> Result<Vec<Permission>, crate::PermissionError> {
    scope
        .split_whitespace()
        .map(|s| match s.split_once(':') {
            Some((domain, resource)) => Permission::parse(domain, Some(resource)),
            None => Permission::parse(s, None),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_codes_use_the_alphabet() {
        for _ in 0..50 {
            let code = user_code();
            assert_eq!(code.len(), 8);
            assert!(code.bytes().all(|b| USER_CODE_ALPHABET.contains(&b)), "{code}");
        }
        assert_ne!(user_code(), user_code());
        assert_eq!(normalize_user_code("bcdf-ghjk "), "BCDFGHJK");
    }

    #[test]
    fn scopes() {
        let parsed = parse_scopes("api repositories").unwrap();
        assert_eq!(parsed.iter().map(ToString::to_string).collect::<Vec<_>>(), ["api", "repositories"]);
        assert_eq!(parse_scopes("api:write repository:acme").unwrap()[1].to_string(), "repository:acme");
        assert!(parse_scopes("api admin").is_err());
        assert_eq!(random_token(16).len(), 32);
        assert_eq!(sha256("abc").len(), 32);
    }
}

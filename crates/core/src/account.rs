//! Accounts: usernames, email addresses and API key names, with hex.pm's rules.

use std::fmt;
use std::str::FromStr;

/// A username: 3 to 40 characters of ASCII letters, digits, `_`, `-` and `.` (hex.pm's rule).
/// Compared case-insensitively by the database; kept as given.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Username(String);

/// Why a string is not a username; the message goes under `errors.username`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsernameError {
    #[error("should be 3 to 40 character(s)")]
    Length,
    #[error("has invalid format")]
    InvalidFormat,
}

impl Username {
    /// A name for a new account, by hex.pm's rule.
    pub fn parse(raw: &str) -> Result<Self, UsernameError> {
        if raw.len() < 3 {
            return Err(UsernameError::Length);
        }
        Self::parse_existing(raw)
    }

    /// A name that may already exist: the operator may make shorter ones (`ci`) with the admin
    /// command, so lookups accept 1 to 40 characters of the same alphabet.
    pub fn parse_existing(raw: &str) -> Result<Self, UsernameError> {
        if !(1..=40).contains(&raw.len()) {
            return Err(UsernameError::Length);
        }
        if !raw.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b)) {
            return Err(UsernameError::InvalidFormat);
        }
        Ok(Username(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An email address: one `@`, a non-empty local part, a domain with a dot, no whitespace, at
/// most 254 characters. Deliverability is what the confirmation mail proves.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

/// Why a string is not an email address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("has invalid format")]
pub struct EmailError;

impl Email {
    pub fn parse(raw: &str) -> Result<Self, EmailError> {
        let shaped = raw.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && !domain.contains('@') && domain.contains('.') && !domain.starts_with('.')
        });
        if !shaped || raw.len() > 254 || raw.contains(|c: char| c.is_whitespace() || c.is_control()) {
            return Err(EmailError);
        }
        Ok(Email(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A user named in a path: by username, or by an email address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum UserRef {
    Username(Username),
    Email(Email),
}

impl UserRef {
    /// A username when it has the shape of one, else an email address; neither is an error.
    pub fn parse(raw: &str) -> Option<Self> {
        if raw.contains('@') {
            Email::parse(raw).ok().map(UserRef::Email)
        } else {
            Username::parse_existing(raw).ok().map(UserRef::Username)
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            UserRef::Username(u) => u.as_str(),
            UserRef::Email(e) => e.as_str(),
        }
    }
}

/// The name of an API key: 1 to 255 characters, no control characters, no surrounding
/// whitespace. mix and rebar3 name keys after the host (`laptop-api`, `laptop-repositories`).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct KeyName(String);

/// Why a string is not a key name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("can't be blank")]
pub struct KeyNameError;

/// The longest key name.
pub const MAX_KEY_NAME_LEN: usize = 255;

impl KeyName {
    /// Validates a name as given in a body; surrounding whitespace is trimmed.
    pub fn parse(raw: &str) -> Result<Self, KeyNameError> {
        let name = raw.trim();
        if name.is_empty() || name.len() > MAX_KEY_NAME_LEN || name.contains(char::is_control) {
            return Err(KeyNameError);
        }
        Ok(KeyName(name.to_owned()))
    }

    /// The `n`th free variant of this name, as hex.pm names a second key of one name:
    /// `NAME-2`, `NAME-3`, … (shortened so the result stays within the length limit).
    pub fn numbered(&self, n: u32) -> KeyName {
        let suffix = format!("-{n}");
        let mut end = MAX_KEY_NAME_LEN.saturating_sub(suffix.len()).min(self.0.len());
        while !self.0.is_char_boundary(end) {
            end -= 1;
        }
        KeyName(format!("{}{suffix}", &self.0[..end]))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! text_newtype {
    ($ty:ident, $err:ty) => {
        impl FromStr for $ty {
            type Err = $err;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($ty), self.0)
            }
        }

        impl AsRef<str> for $ty {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        crate::string_serde!($ty);
    };
}

text_newtype!(Username, UsernameError);
text_newtype!(Email, EmailError);
text_newtype!(KeyName, KeyNameError);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_follow_hexpm() {
        for ok in ["alice", "a_b-c.d", "Bob42", &"x".repeat(40)] {
            assert!(Username::parse(ok).is_ok(), "{ok}");
        }
        assert_eq!(Username::parse("ab"), Err(UsernameError::Length));
        assert!(Username::parse_existing("ci").is_ok() && Username::parse_existing("").is_err());
        assert_eq!(Username::parse(&"x".repeat(41)), Err(UsernameError::Length));
        for bad in ["al ice", "al/ice", "alicé", "a@b.c", "../x"] {
            assert!(Username::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn emails_need_a_local_part_and_a_dotted_domain() {
        for ok in ["a@example.com", "first.last+tag@sub.example.org"] {
            assert!(Email::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a", "@example.com", "a@example", "a@b@c.com", "a b@example.com", "a@.com", "a\n@x.com"] {
            assert_eq!(Email::parse(bad), Err(EmailError), "{bad:?}");
        }
        assert!(Email::parse(&format!("{}@example.com", "a".repeat(250))).is_err());
    }

    #[test]
    fn user_refs_are_a_username_or_an_email() {
        assert_eq!(UserRef::parse("alice"), Some(UserRef::Username(Username::parse("alice").unwrap())));
        assert!(matches!(UserRef::parse("alice@example.com"), Some(UserRef::Email(_))));
        assert_eq!(UserRef::parse("al ice"), None);
        assert_eq!(UserRef::parse("x@"), None);
    }

    #[test]
    fn key_names_are_trimmed_bounded_and_numbered() {
        assert_eq!(KeyName::parse("  laptop-api ").unwrap().as_str(), "laptop-api");
        for bad in ["", "   ", "a\u{0}b", "tab\there"] {
            assert_eq!(KeyName::parse(bad), Err(KeyNameError), "{bad:?}");
        }
        assert!(KeyName::parse(&"k".repeat(256)).is_err());
        let name = KeyName::parse("laptop").unwrap();
        assert_eq!(name.numbered(2).as_str(), "laptop-2");
        let long = KeyName::parse(&"é".repeat(127)).unwrap();
        let numbered = long.numbered(10);
        assert!(numbered.as_str().len() <= MAX_KEY_NAME_LEN && numbered.as_str().ends_with("-10"));
    }
}

use std::fmt;
use std::str::FromStr;

/// The longest package name hexyard accepts. hex.pm sets no upper bound; this one keeps names
/// usable as file names and URL segments, and no real package comes near it.
pub const MAX_PACKAGE_NAME_LEN: usize = 255;

/// Names that no package may take: they belong to Elixir, OTP, the build tools, Windows devices,
/// or to pages and subdomains of a registry. The list follows hex.pm's own.
const RESERVED: &[&str] = &[
    // Elixir's applications
    "eex",
    "elixir",
    "elixirc",
    "ex_unit",
    "iex",
    "logger",
    "mix",
    // OTP's applications
    "otp",
    "asn1",
    "common_test",
    "compiler",
    "cos_events",
    "cos_event_domain",
    "cos_file_transfer",
    "cos_notification",
    "cos_properties",
    "cos_time",
    "cos_transactions",
    "crypto",
    "debugger",
    "dialyzer",
    "diameter",
    "edoc",
    "eldap",
    "erl_docgen",
    "erl_interface",
    "erts",
    "et",
    "eunit",
    "ftp",
    "gs",
    "hipe",
    "ic",
    "inets",
    "jinterface",
    "kernel",
    "megaco",
    "mnesia",
    "observer",
    "odbc",
    "orber",
    "os_mon",
    "otp_mibs",
    "parsetools",
    "percept",
    "public_key",
    "reltool",
    "runtime_tools",
    "sasl",
    "snmp",
    "ssh",
    "ssl",
    "stdlib",
    "syntax_tools",
    "tools",
    "typer",
    "webtool",
    "wx",
    "xmerl",
    // parts of inets that were split out
    "tftp",
    "httpc",
    "httpd",
    // tools
    "erlang",
    "erl",
    "erlc",
    "escript",
    "epmd",
    "rebar",
    "rebar3",
    "hex",
    "hexpm",
    "mix_hex",
    // application names that clash in practice
    "net",
    "http",
    "net_http",
    "gen_http",
    // Windows device names
    "nul",
    "con",
    "prn",
    "aux",
    "com1",
    "com2",
    "com3",
    "com4",
    "com5",
    "com6",
    "com7",
    "com8",
    "com9",
    "lpt1",
    "lpt2",
    "lpt3",
    "lpt4",
    "lpt5",
    "lpt6",
    "lpt7",
    "lpt8",
    "lpt9",
    // generic names
    "package",
    "organization",
    "www",
    "myapp",
    "lock",
    "locked",
    "all",
    "assets",
    // subdomains and pages of a registry
    "api",
    "docs",
    "preview",
    "search",
    "staging",
    "stats",
    "static",
];

/// A Hex package name: `^[a-z][a-z0-9_]*$`, at least two characters, not reserved.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PackageName(String);

/// Why a string is not a package name; the messages are hex.pm's wording where it has one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PackageNameError {
    #[error("should be at least 2 character(s)")]
    TooShort,
    #[error("should be at most {MAX_PACKAGE_NAME_LEN} character(s)")]
    TooLong,
    #[error("has invalid format")]
    InvalidFormat,
    #[error("is reserved")]
    Reserved,
}

impl PackageName {
    /// Parses a name that a new package may take: the format rules and the reserved list.
    pub fn parse(raw: &str) -> Result<Self, PackageNameError> {
        let name = Self::parse_existing(raw)?;
        if RESERVED.contains(&raw) {
            return Err(PackageNameError::Reserved);
        }
        Ok(name)
    }

    /// Parses a name by the format rules only, without the reserved list: for names that
    /// exist already and are only referred to, such as a dependency on a package of hex.pm.
    pub fn parse_existing(raw: &str) -> Result<Self, PackageNameError> {
        if raw.len() < 2 {
            return Err(PackageNameError::TooShort);
        }
        if raw.len() > MAX_PACKAGE_NAME_LEN {
            return Err(PackageNameError::TooLong);
        }
        let mut chars = raw.chars();
        let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase());
        let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !(first_ok && rest_ok) {
            return Err(PackageNameError::InvalidFormat);
        }
        Ok(Self(raw.to_owned()))
    }

    /// Whether hex.pm keeps this name for itself.
    pub fn is_reserved(&self) -> bool {
        RESERVED.contains(&self.0.as_str())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for PackageName {
    type Err = PackageNameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for PackageName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for PackageName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PackageName({:?})", self.0)
    }
}

impl AsRef<str> for PackageName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

crate::string_serde!(PackageName);

/// A release as tarball and docs file names hold it, `NAME-VERSION`: package names hold no `-`,
/// so the first one ends the name.
pub fn parse_release(stem: &str) -> Option<(PackageName, crate::Version)> {
    let (name, version) = stem.split_once('-')?;
    Some((PackageName::parse_existing(name).ok()?, crate::Version::parse(version).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_hex_names() {
        for ok in ["foo", "ab", "phoenix_live_view", "a1", "x_"] {
            assert_eq!(PackageName::parse(ok).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn refuses_bad_formats() {
        assert_eq!(PackageName::parse("a"), Err(PackageNameError::TooShort));
        assert_eq!(PackageName::parse(""), Err(PackageNameError::TooShort));
        for bad in ["Foo", "1ab", "_ab", "foo-bar", "foo.bar", "föo", "foo bar", "ab/c"] {
            assert_eq!(PackageName::parse(bad), Err(PackageNameError::InvalidFormat), "{bad}");
        }
        assert_eq!(PackageName::parse(&"a".repeat(256)), Err(PackageNameError::TooLong));
    }

    #[test]
    fn refuses_reserved_names_but_existing_ones_parse() {
        for name in ["elixir", "stdlib", "hexpm", "com1", "lpt9", "docs", "rebar3", "httpc"] {
            assert_eq!(PackageName::parse(name), Err(PackageNameError::Reserved), "{name}");
            assert!(PackageName::parse_existing(name).unwrap().is_reserved());
        }
    }

    #[test]
    fn serde_parses() {
        let n: PackageName = serde_json::from_str("\"plug\"").unwrap();
        assert_eq!(serde_json::to_string(&n).unwrap(), "\"plug\"");
        assert!(serde_json::from_str::<PackageName>("\"Plug\"").is_err());
    }

    #[test]
    fn release_stems_split_at_the_first_dash() {
        let (name, version) = super::parse_release("phoenix_html-4.0.0-rc.1").unwrap();
        assert_eq!((name.as_str(), version.to_string().as_str()), ("phoenix_html", "4.0.0-rc.1"));
        assert!(super::parse_release("nodash").is_none());
        assert!(super::parse_release("Bad-1.0.0").is_none());
        assert!(super::parse_release("ok-1.0").is_none());
    }
}

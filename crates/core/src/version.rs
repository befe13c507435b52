use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

/// hex.pm's bound on each numeric part of a version (`lib/hexpm/ecto/version.ex`).
pub const MAX_VERSION_NUMBER: u64 = 99_999_999_999_999;
/// hex.pm's bound on the length of the pre-release part, in characters.
pub const MAX_PRE_LEN: usize = 64;

/// A SemVer 2.0 version as Elixir's `Version` parses it, within hex.pm's limits.
///
/// Ordering is SemVer precedence (pre-releases before their release, identifiers compared
/// numerically or in ASCII order); build metadata does not affect precedence and only breaks
/// ties so that `Ord` agrees with `Eq`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Version {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
    pub pre: Vec<Identifier>,
    pub build: Option<String>,
}

/// One dot-separated part of a pre-release.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Identifier {
    Numeric(u64),
    AlphaNumeric(String),
}

/// Why a string is not a version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VersionError {
    #[error("is invalid SemVer")]
    Invalid,
    #[error("version numbers can be at most {MAX_VERSION_NUMBER}")]
    NumberTooLarge,
    #[error("pre-release can be at most {MAX_PRE_LEN} characters")]
    PreTooLong,
    #[error("build number not allowed")]
    BuildNotAllowed,
}

impl Version {
    /// Parses `MAJOR.MINOR.PATCH[-PRE][+BUILD]`.
    pub fn parse(raw: &str) -> Result<Self, VersionError> {
        Self::parse_inner(raw, false).map(|(v, _)| v)
    }

    /// Parses a version a release may carry: like [`Version::parse`], but build metadata is
    /// refused, as hex.pm refuses it on publish.
    pub fn parse_for_release(raw: &str) -> Result<Self, VersionError> {
        let v = Self::parse(raw)?;
        if v.build.is_some() {
            return Err(VersionError::BuildNotAllowed);
        }
        Ok(v)
    }

    /// Parses the version of a requirement clause; with `allow_missing_patch` (`~>` only) the
    /// patch may be left out, which the second value reports.
    pub(crate) fn parse_inner(raw: &str, allow_missing_patch: bool) -> Result<(Self, bool), VersionError> {
        let (rest, build) = match raw.split_once('+') {
            Some((rest, build)) => (rest, Some(build)),
            None => (raw, None),
        };
        let (core, pre) = match rest.split_once('-') {
            Some((core, pre)) => (core, Some(pre)),
            None => (rest, None),
        };
        let mut parts = core.split('.');
        let major = parse_number(parts.next())?;
        let minor = parse_number(parts.next())?;
        let (patch, missing_patch) = match parts.next() {
            Some(p) => (parse_number(Some(p))?, false),
            None if allow_missing_patch => (0, true),
            None => return Err(VersionError::Invalid),
        };
        if parts.next().is_some() {
            return Err(VersionError::Invalid);
        }
        let pre = match pre {
            Some(pre) => parse_pre(pre)?,
            None => Vec::new(),
        };
        let build = match build {
            Some(b) if valid_build(b) => Some(b.to_owned()),
            Some(_) => return Err(VersionError::Invalid),
            None => None,
        };
        Ok((Version { major, minor, patch, pre, build }, missing_patch))
    }

    /// A release version without pre-release or build parts.
    pub fn new(major: u64, minor: u64, patch: u64) -> Self {
        Version { major, minor, patch, pre: Vec::new(), build: None }
    }

    pub fn is_pre(&self) -> bool {
        !self.pre.is_empty()
    }

    /// Of some versions, each with a value, the value of the latest as hex.pm and hexdocs pick
    /// it: the highest stable version, or the highest pre-release when all are pre-releases.
    pub fn latest<'a, T>(versions: impl IntoIterator<Item = (&'a Version, T)>) -> Option<T> {
        let mut stable: Option<(&Version, T)> = None;
        let mut pre: Option<(&Version, T)> = None;
        for (v, value) in versions {
            let best = if v.is_pre() { &mut pre } else { &mut stable };
            if best.as_ref().is_none_or(|(b, _)| v > *b) {
                *best = Some((v, value));
            }
        }
        stable.or(pre).map(|(_, value)| value)
    }

    /// SemVer precedence, which ignores build metadata.
    pub fn cmp_precedence(&self, other: &Self) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(other.major, other.minor, other.patch))
            .then_with(|| cmp_pre(&self.pre, &other.pre))
    }
}

fn parse_number(part: Option<&str>) -> Result<u64, VersionError> {
    let part = part.ok_or(VersionError::Invalid)?;
    if !is_numeric(part) {
        return Err(VersionError::Invalid);
    }
    // Anything longer than the bound's 14 digits is over it; this also avoids overflow.
    let n: u64 = if part.len() > 14 { u64::MAX } else { part.parse().map_err(|_| VersionError::Invalid)? };
    if n > MAX_VERSION_NUMBER {
        return Err(VersionError::NumberTooLarge);
    }
    Ok(n)
}

/// Digits only, and no leading zero unless the number is zero itself.
fn is_numeric(part: &str) -> bool {
    !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()) && !(part.len() > 1 && part.starts_with('0'))
}

fn parse_pre(pre: &str) -> Result<Vec<Identifier>, VersionError> {
    if pre.chars().count() > MAX_PRE_LEN {
        return Err(VersionError::PreTooLong);
    }
    pre.split('.')
        .map(|id| {
            if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
                Err(VersionError::Invalid)
            } else if id.bytes().all(|b| b.is_ascii_digit()) {
                if !is_numeric(id) {
                    return Err(VersionError::Invalid);
                }
                // at most 64 characters, but a 64-digit number does not fit in u64
                id.parse().map(Identifier::Numeric).map_err(|_| VersionError::NumberTooLarge)
            } else {
                Ok(Identifier::AlphaNumeric(id.to_owned()))
            }
        })
        .collect()
}

fn valid_build(build: &str) -> bool {
    build.split('.').all(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
}

fn cmp_pre(a: &[Identifier], b: &[Identifier]) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => a.cmp(b),
    }
}

impl Ord for Identifier {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Identifier::Numeric(a), Identifier::Numeric(b)) => a.cmp(b),
            (Identifier::Numeric(_), Identifier::AlphaNumeric(_)) => Ordering::Less,
            (Identifier::AlphaNumeric(_), Identifier::Numeric(_)) => Ordering::Greater,
            (Identifier::AlphaNumeric(a), Identifier::AlphaNumeric(b)) => a.cmp(b),
        }
    }
}

impl PartialOrd for Identifier {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.cmp_precedence(other).then_with(|| self.build.cmp(&other.build))
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl FromStr for Version {
    type Err = VersionError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for Identifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Identifier::Numeric(n) => write!(f, "{n}"),
            Identifier::AlphaNumeric(s) => f.write_str(s),
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        for (i, id) in self.pre.iter().enumerate() {
            f.write_str(if i == 0 { "-" } else { "." })?;
            write!(f, "{id}")?;
        }
        if let Some(build) = &self.build {
            write!(f, "+{build}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Version({self})")
    }
}

crate::string_serde!(Version);

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    #[test]
    fn latest_is_the_highest_stable_else_the_highest_pre_release() {
        let latest = |all: &[&str]| {
            let parsed: Vec<Version> = all.iter().map(|s| v(s)).collect();
            Version::latest(parsed.iter().map(|p| (p, p.to_string())))
        };
        assert_eq!(latest(&["1.0.0", "2.0.0-rc.1", "1.1.0", "0.9.0"]).as_deref(), Some("1.1.0"));
        assert_eq!(latest(&["2.0.0-rc.1", "2.0.0-rc.2", "1.0.0-beta"]).as_deref(), Some("2.0.0-rc.2"));
        assert_eq!(latest(&[]), None);
    }

    #[test]
    fn parses_semver() {
        let x = v("1.2.3-rc.1+build.5");
        assert_eq!((x.major, x.minor, x.patch), (1, 2, 3));
        assert_eq!(x.pre, vec![Identifier::AlphaNumeric("rc".into()), Identifier::Numeric(1)]);
        assert_eq!(x.build.as_deref(), Some("build.5"));
        assert_eq!(x.to_string(), "1.2.3-rc.1+build.5");
    }

    #[test]
    fn refuses_what_elixir_refuses() {
        for bad in [
            "",
            "1",
            "1.2",
            "1.2.3.4",
            "01.2.3",
            "1.02.3",
            "1.2.03",
            "1.2.3-",
            "1.2.3-01",
            "1.2.3-a..b",
            "1.2.3+",
            "1.2.3-a_b",
            " 1.2.3",
            "1.2.3 ",
            "v1.2.3",
            "1.2.3-é",
            "-1.2.3",
            "1.2.x",
        ] {
            assert_eq!(Version::parse(bad), Err(VersionError::Invalid), "{bad:?}");
        }
    }

    #[test]
    fn enforces_hexpm_limits() {
        assert!(Version::parse("99999999999999.0.0").is_ok());
        assert_eq!(Version::parse("100000000000000.0.0"), Err(VersionError::NumberTooLarge));
        assert_eq!(Version::parse("1.0.99999999999999999999999"), Err(VersionError::NumberTooLarge));
        assert!(Version::parse(&format!("1.0.0-{}", "a".repeat(64))).is_ok());
        assert_eq!(Version::parse(&format!("1.0.0-{}", "a".repeat(65))), Err(VersionError::PreTooLong));
        assert_eq!(Version::parse_for_release("1.0.0+b"), Err(VersionError::BuildNotAllowed));
        assert!(Version::parse_for_release("1.0.0-rc.0").is_ok());
    }

    #[test]
    fn semver_spec_precedence_example() {
        let chain = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
            "1.0.1",
            "1.1.0",
            "2.0.0",
        ];
        for pair in chain.windows(2) {
            assert!(v(pair[0]) < v(pair[1]), "{} < {}", pair[0], pair[1]);
        }
        assert_eq!(v("1.0.0+a").cmp_precedence(&v("1.0.0+b")), Ordering::Equal);
        assert!(v("1.0.0+a") < v("1.0.0+b"));
    }

    fn identifier() -> impl Strategy<Value = String> {
        prop_oneof![(0u64..1000).prop_map(|n| n.to_string()), "[a-zA-Z-][a-zA-Z0-9-]{0,6}".prop_map(|s| s),]
    }

    pub(crate) fn version_string() -> impl Strategy<Value = String> {
        (
            0u64..30,
            0u64..30,
            0u64..30,
            proptest::collection::vec(identifier(), 0..3),
            proptest::option::of("[a-z0-9]{1,5}"),
        )
            .prop_map(|(a, b, c, pre, build)| {
                let mut s = format!("{a}.{b}.{c}");
                if !pre.is_empty() {
                    s.push('-');
                    s.push_str(&pre.join("."));
                }
                if let Some(build) = build {
                    s.push('+');
                    s.push_str(&build);
                }
                s
            })
    }

    proptest! {
        #[test]
        fn print_parse_round_trip(s in version_string()) {
            let parsed = v(&s);
            prop_assert_eq!(parsed.to_string(), s.clone());
            prop_assert_eq!(v(&parsed.to_string()), parsed);
        }

        #[test]
        fn ordering_is_total_and_consistent(a in version_string(), b in version_string(), c in version_string()) {
            let (a, b, c) = (v(&a), v(&b), v(&c));
            prop_assert_eq!(a.cmp(&b), b.cmp(&a).reverse());
            prop_assert_eq!(a.cmp(&b) == Ordering::Equal, a == b);
            if a <= b && b <= c {
                prop_assert!(a <= c);
            }
        }

        #[test]
        fn pre_release_sorts_before_its_release(s in version_string(), pre in identifier()) {
            let release = Version { pre: vec![], build: None, ..v(&s) };
            let pre = v(&format!("{}-{pre}", release));
            prop_assert!(pre < release);
        }
    }
}

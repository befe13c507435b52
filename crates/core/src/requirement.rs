use std::fmt;
use std::str::FromStr;

use crate::version::{Identifier, Version};

/// The longest requirement string accepted; real ones are a few dozen characters.
pub const MAX_REQUIREMENT_LEN: usize = 1024;

/// A version requirement in Elixir's syntax: clauses such as `~> 2.0`, `>= 1.2.3`, `== 1.0.0`
/// joined by `and` / `or` (`and` binds tighter). `!=` is refused as hex.pm refuses it.
///
/// The text is kept as the client wrote it (`~>2.9.0` stays without a space), because the
/// registry republishes it verbatim; [`Requirement::normalized`] gives the canonical spelling.
#[derive(Clone)]
pub struct Requirement {
    raw: String,
    /// Disjunction of conjunctions: `a and b or c` is `[[a, b], [c]]`.
    any_of: Vec<Vec<Clause>>,
}

/// One `OP VERSION` clause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clause {
    pub op: Op,
    pub version: Version,
    /// `~> 2.0`: the patch was left out, which widens the range to the next major.
    pub missing_patch: bool,
}

/// The comparison operators of a requirement clause.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Gt,
    Gte,
    Lt,
    Lte,
    Compatible,
}

/// Why a string is not a requirement.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequirementError {
    #[error("invalid requirement: {0:?}")]
    Invalid(String),
    #[error("invalid requirement: {0:?}, `!=` is not allowed")]
    NotEqualForbidden(String),
}

#[derive(Debug, PartialEq)]
enum Token<'a> {
    Op(Op),
    NotEq,
    And,
    Or,
    Version(&'a str),
}

/// Splits a requirement the way Elixir's lexer does: operators stand alone even when glued to
/// the version (`~>2.9.0`), `and`/`or` are words, other spaces are ignored.
fn lex(raw: &str) -> Option<Vec<Token<'_>>> {
    let mut tokens = Vec::new();
    for word in raw.split(' ').filter(|w| !w.is_empty()) {
        let mut rest = word;
        match rest {
            "and" => tokens.push(Token::And),
            "or" => tokens.push(Token::Or),
            _ => {
                while !rest.is_empty() {
                    let (token, len) = if rest.starts_with("~>") {
                        (Token::Op(Op::Compatible), 2)
                    } else if rest.starts_with(">=") {
                        (Token::Op(Op::Gte), 2)
                    } else if rest.starts_with("<=") {
                        (Token::Op(Op::Lte), 2)
                    } else if rest.starts_with("==") {
                        (Token::Op(Op::Eq), 2)
                    } else if rest.starts_with("!=") {
                        (Token::NotEq, 2)
                    } else if rest.starts_with('>') {
                        (Token::Op(Op::Gt), 1)
                    } else if rest.starts_with('<') {
                        (Token::Op(Op::Lt), 1)
                    } else {
                        let end = rest.find(['~', '>', '<', '=', '!']).unwrap_or(rest.len());
                        if end == 0 {
                            return None;
                        }
                        (Token::Version(&rest[..end]), end)
                    };
                    tokens.push(token);
                    rest = &rest[len..];
                }
            }
        }
    }
    Some(tokens)
}

impl Requirement {
    /// Parses a requirement; the errors carry hex.pm's message.
    pub fn parse(raw: &str) -> Result<Self, RequirementError> {
        let invalid = || RequirementError::Invalid(raw.to_owned());
        if raw.len() > MAX_REQUIREMENT_LEN || raw.contains(['\t', '\n', '\r']) {
            return Err(invalid());
        }
        let tokens = lex(raw).ok_or_else(invalid)?;
        if tokens.contains(&Token::NotEq) {
            return Err(RequirementError::NotEqualForbidden(raw.to_owned()));
        }
        let mut any_of = vec![Vec::new()];
        let mut iter = tokens.into_iter().peekable();
        loop {
            let op = match iter.peek() {
                Some(Token::Op(op)) => {
                    let op = *op;
                    iter.next();
                    op
                }
                _ => Op::Eq,
            };
            let Some(Token::Version(text)) = iter.next() else { return Err(invalid()) };
            let (version, missing_patch) = Version::parse_inner(text, op == Op::Compatible).map_err(|_| invalid())?;
            any_of.last_mut().expect("never empty").push(Clause { op, version, missing_patch });
            match iter.next() {
                None => break,
                Some(Token::And) => {}
                Some(Token::Or) => any_of.push(Vec::new()),
                Some(_) => return Err(invalid()),
            }
        }
        Ok(Requirement { raw: raw.to_owned(), any_of })
    }

    /// The requirement as written.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The canonical spelling: one space after each operator, `==` written out.
    pub fn normalized(&self) -> String {
        let ors: Vec<String> =
            self.any_of.iter().map(|all| all.iter().map(Clause::to_string).collect::<Vec<_>>().join(" and ")).collect();
        ors.join(" or ")
    }

    /// The clauses, as a disjunction of conjunctions.
    pub fn clauses(&self) -> &[Vec<Clause>] {
        &self.any_of
    }

    /// Whether `version` satisfies the requirement under Hex's resolver rule: a pre-release
    /// version only satisfies a clause whose own version is a pre-release (so `~> 1.0` never
    /// selects `1.1.0-rc.0`, while `~> 1.1.0-rc.0` does).
    pub fn matches(&self, version: &Version) -> bool {
        self.matches_with(version, false)
    }

    /// Elixir's `Version.match?/3`; `allow_pre: true` is Elixir's default.
    pub fn matches_with(&self, version: &Version, allow_pre: bool) -> bool {
        self.any_of.iter().any(|all| all.iter().all(|c| c.matches(version, allow_pre)))
    }
}

impl Clause {
    fn matches(&self, v: &Version, allow_pre: bool) -> bool {
        // Clauses with a lower bound keep pre-releases out unless allowed or asked for.
        let pre_ok = allow_pre || !v.is_pre() || self.version.is_pre();
        let req = &self.version;
        match self.op {
            Op::Eq => v.cmp_precedence(req).is_eq(),
            Op::Gt => pre_ok && v.cmp_precedence(req).is_gt(),
            Op::Gte => pre_ok && v.cmp_precedence(req).is_ge(),
            Op::Lt => v.cmp_precedence(req).is_lt(),
            Op::Lte => v.cmp_precedence(req).is_le(),
            Op::Compatible => {
                // `~> 2.1` is `>= 2.1.0 and < 3.0.0-0`; `~> 2.1.3` is `>= 2.1.3 and < 2.2.0-0`.
                let upper = if self.missing_patch {
                    Version { pre: vec![Identifier::Numeric(0)], ..Version::new(req.major + 1, 0, 0) }
                } else {
                    Version { pre: vec![Identifier::Numeric(0)], ..Version::new(req.major, req.minor + 1, 0) }
                };
                pre_ok && v.cmp_precedence(req).is_ge() && v.cmp_precedence(&upper).is_lt()
            }
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Op::Eq => "==",
            Op::Gt => ">",
            Op::Gte => ">=",
            Op::Lt => "<",
            Op::Lte => "<=",
            Op::Compatible => "~>",
        })
    }
}

impl fmt::Display for Clause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = &self.version;
        if self.missing_patch {
            write!(f, "{} {}.{}", self.op, v.major, v.minor)?;
            for (i, id) in v.pre.iter().enumerate() {
                write!(f, "{}{id}", if i == 0 { "-" } else { "." })?;
            }
            if let Some(build) = &v.build {
                write!(f, "+{build}")?;
            }
            Ok(())
        } else {
            write!(f, "{} {v}", self.op)
        }
    }
}

/// Two requirements are equal when they have the same clauses, however they were spelled.
impl PartialEq for Requirement {
    fn eq(&self, other: &Self) -> bool {
        self.any_of == other.any_of
    }
}

impl Eq for Requirement {}

impl FromStr for Requirement {
    type Err = RequirementError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Displays the requirement as written.
impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl fmt::Debug for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Requirement({:?})", self.raw)
    }
}

crate::string_serde!(Requirement);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn r(s: &str) -> Requirement {
        Requirement::parse(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
    }

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    #[test]
    fn parses_the_forms_clients_write() {
        assert_eq!(r("~> 2.0").normalized(), "~> 2.0");
        assert_eq!(r("~>2.9.0").normalized(), "~> 2.9.0");
        assert_eq!(r("~>2.9.0").as_str(), "~>2.9.0");
        assert_eq!(r("1.0.0").normalized(), "== 1.0.0");
        assert_eq!(r(">= 1.0.0 and < 2.0.0-0 or == 3.0.0").normalized(), ">= 1.0.0 and < 2.0.0-0 or == 3.0.0");
        assert_eq!(r(">=1.0.0 and <=1.5.0").clauses()[0].len(), 2);
        assert_eq!(r("  ~>   1.0  ").normalized(), "~> 1.0");
    }

    #[test]
    fn refuses_what_elixir_and_hexpm_refuse() {
        for bad in [
            "",
            "~>",
            "~> invalid",
            "== 1.0",
            ">= 1.0",
            "1.0",
            "~> 1",
            "and 1.0.0",
            "1.0.0 and",
            "1.0.0 or",
            "~> 1.0 and and ~> 2.0",
            ">> 1.0.0",
            "=~ 1.0.0",
            "~> 1.0 ~> 2.0",
            "1.0.0 && 2.0.0",
            "> 1.0.0\n",
            "= 1.0.0",
            "~> 1.0.x",
        ] {
            assert!(matches!(Requirement::parse(bad), Err(RequirementError::Invalid(_))), "{bad:?} should be invalid");
        }
        assert!(matches!(Requirement::parse("!= 1.0.0"), Err(RequirementError::NotEqualForbidden(_))));
        assert!(matches!(Requirement::parse(">= 1.0.0 and != 1.2.0"), Err(RequirementError::NotEqualForbidden(_))));
        assert_eq!(Requirement::parse("~> invalid").unwrap_err().to_string(), "invalid requirement: \"~> invalid\"");
    }

    #[test]
    fn compatible_operator_ranges() {
        let two = r("~> 2.1");
        assert!(two.matches(&v("2.1.0")) && two.matches(&v("2.9.9")));
        assert!(!two.matches(&v("2.0.9")) && !two.matches(&v("3.0.0")));
        let patch = r("~> 2.1.3");
        assert!(patch.matches(&v("2.1.3")) && patch.matches(&v("2.1.99")));
        assert!(!patch.matches(&v("2.2.0")) && !patch.matches(&v("2.1.2")));
        // the next major's pre-releases are out even when pre-releases are allowed
        assert!(!two.matches_with(&v("3.0.0-rc.1"), true));
        assert!(two.matches_with(&v("2.5.0-rc.1"), true));
    }

    #[test]
    fn pre_releases_need_to_be_asked_for() {
        assert!(!r("~> 1.0").matches(&v("1.1.0-rc.0")));
        assert!(!r(">= 1.0.0").matches(&v("1.1.0-rc.0")));
        assert!(r("~> 1.1.0-rc.0").matches(&v("1.1.0-rc.1")));
        assert!(r("~> 1.1.0-rc.0").matches(&v("1.1.0")));
        assert!(r("== 1.2.0-rc.1").matches(&v("1.2.0-rc.1")));
        assert!(!r("== 1.2.0").matches(&v("1.2.0-rc.1")));
        assert!(r("< 2.0.0").matches(&v("1.0.0-beta")));
        assert!(r(">= 1.0.0").matches_with(&v("1.1.0-rc.0"), true));
    }

    #[test]
    fn and_binds_tighter_than_or() {
        let req = r("== 1.0.0 or >= 2.0.0 and < 3.0.0");
        assert!(req.matches(&v("1.0.0")) && req.matches(&v("2.5.0")));
        assert!(!req.matches(&v("1.5.0")) && !req.matches(&v("3.0.0")));
    }

    #[test]
    fn equality_ignores_spelling() {
        assert_eq!(r("~>2.9.0"), r("~> 2.9.0"));
        assert_ne!(r("~> 2.9"), r("~> 2.9.0"));
    }

    fn clause_string() -> impl Strategy<Value = String> {
        let op = prop_oneof![Just(""), Just("== "), Just(">"), Just(">= "), Just("< "), Just("<="), Just("~> ")];
        (op, crate::version::tests::version_string(), any::<bool>()).prop_map(|(op, ver, short)| {
            if op == "~> " && short {
                // the two-part form `~> MAJOR.MINOR`
                let core = ver.split(['-', '+']).next().unwrap().to_owned();
                let mut parts = core.split('.');
                format!("~> {}.{}", parts.next().unwrap(), parts.next().unwrap())
            } else {
                format!("{op}{ver}")
            }
        })
    }

    proptest! {
        #[test]
        fn normalized_round_trips(
            clauses in proptest::collection::vec((clause_string(), any::<bool>()), 1..4)
        ) {
            let mut text = String::new();
            for (i, (c, and)) in clauses.iter().enumerate() {
                if i > 0 {
                    text.push_str(if *and { " and " } else { " or " });
                }
                text.push_str(c);
            }
            let parsed = r(&text);
            let again = r(&parsed.normalized());
            prop_assert_eq!(&again, &parsed);
            prop_assert_eq!(again.normalized(), parsed.normalized());
        }

        #[test]
        fn compatible_matches_its_own_base(ver in crate::version::tests::version_string()) {
            let base = Version { build: None, ..v(&ver) };
            let req = r(&format!("~> {base}"));
            prop_assert!(req.matches(&base));
            let next_minor = Version::new(base.major, base.minor + 1, 0);
            prop_assert!(!req.matches(&next_minor));
        }
    }
}

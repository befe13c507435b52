//! Erlang terms as Hex uses them, with no I/O:
//!
//! - [`text`]: the `metadata.config` grammar inside package tarballs (the subset hex_core's
//!   `safe_erl_term` accepts), parsed to a [`Term`] tree and written back;
//! - [`etf`]: the external term format of `application/vnd.hex+erlang` bodies, encoded as
//!   `erlang:term_to_binary/1` does and decoded safely;
//! - [`json`]: conversions between terms and `serde_json` values, so one response type can be
//!   answered as JSON or as ETF.

use std::cmp::Ordering;

pub mod etf;
pub mod json;
pub mod text;

/// An Erlang term of the kinds Hex exchanges.
#[derive(Debug, Clone, PartialEq)]
pub enum Term {
    Atom(String),
    /// Integers of any size up to 128 bits; Erlang's are unbounded, Hex's never come near.
    Integer(i128),
    Float(f64),
    Binary(Vec<u8>),
    /// A proper list. Erlang strings (`"abc"`) are lists of integers.
    List(Vec<Term>),
    Tuple(Vec<Term>),
    /// A map, in insertion order; encoders sort the keys.
    Map(Vec<(Term, Term)>),
}

impl Term {
    /// A binary holding the UTF-8 bytes of `s`, as `<<"s"/utf8>>`.
    pub fn binary(s: &str) -> Term {
        Term::Binary(s.as_bytes().to_vec())
    }

    pub fn atom(s: &str) -> Term {
        Term::Atom(s.to_owned())
    }

    /// The bytes of a binary.
    pub fn as_binary(&self) -> Option<&[u8]> {
        match self {
            Term::Binary(b) => Some(b),
            _ => None,
        }
    }

    /// The atom's name.
    pub fn as_atom(&self) -> Option<&str> {
        match self {
            Term::Atom(a) => Some(a),
            _ => None,
        }
    }

    /// Erlang's term order (`number < atom < tuple < map < list < binary`, the kinds Hex uses),
    /// the order `term_to_binary` writes the keys of small maps in.
    pub fn erlang_cmp(&self, other: &Term) -> Ordering {
        fn rank(t: &Term) -> u8 {
            match t {
                Term::Integer(_) | Term::Float(_) => 0,
                Term::Atom(_) => 1,
                Term::Tuple(_) => 2,
                Term::Map(_) => 3,
                Term::List(_) => 4,
                Term::Binary(_) => 5,
            }
        }
        match (self, other) {
            (Term::Integer(a), Term::Integer(b)) => a.cmp(b),
            (Term::Float(a), Term::Float(b)) => a.total_cmp(b),
            (Term::Integer(a), Term::Float(b)) => cmp_int_float(*a, *b),
            (Term::Float(a), Term::Integer(b)) => cmp_int_float(*b, *a).reverse(),
            (Term::Atom(a), Term::Atom(b)) => a.cmp(b),
            (Term::Tuple(a), Term::Tuple(b)) => a.len().cmp(&b.len()).then_with(|| cmp_all(a, b)),
            (Term::Map(a), Term::Map(b)) => {
                let (mut a, mut b) = (a.clone(), b.clone());
                a.sort_by(|x, y| x.0.erlang_cmp(&y.0));
                b.sort_by(|x, y| x.0.erlang_cmp(&y.0));
                let keys = |m: &[(Term, Term)]| m.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>();
                let values = |m: &[(Term, Term)]| m.iter().map(|(_, v)| v.clone()).collect::<Vec<_>>();
                a.len()
                    .cmp(&b.len())
                    .then_with(|| cmp_all(&keys(&a), &keys(&b)))
                    .then_with(|| cmp_all(&values(&a), &values(&b)))
            }
            (Term::List(a), Term::List(b)) => {
                for (x, y) in a.iter().zip(b) {
                    let o = x.erlang_cmp(y);
                    if o != Ordering::Equal {
                        return o;
                    }
                }
                a.len().cmp(&b.len())
            }
            (Term::Binary(a), Term::Binary(b)) => a.cmp(b),
            _ => rank(self).cmp(&rank(other)),
        }
    }
}

/// Compares an integer and a float by their exact values (an equal integer sorts first), so
/// that the order stays total: rounding the integer to a float is monotonic, and only a tie
/// needs the exact comparison. NaN, which no decoded term holds, sits where `total_cmp` puts it.
fn cmp_int_float(a: i128, b: f64) -> Ordering {
    match (a as f64).partial_cmp(&b) {
        Some(Ordering::Equal) => a.cmp(&(b as i128)).then(Ordering::Less),
        Some(o) => o,
        None if b.is_sign_negative() => Ordering::Greater,
        None => Ordering::Less,
    }
}

fn cmp_all(a: &[Term], b: &[Term]) -> Ordering {
    a.iter().zip(b).map(|(x, y)| x.erlang_cmp(y)).find(|o| o.is_ne()).unwrap_or(Ordering::Equal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn term_order_follows_erlang() {
        let sorted = [
            Term::Integer(-5),
            Term::Integer(1),
            Term::Float(1.0),
            Term::Float(2.5),
            Term::Integer(3),
            Term::atom("false"),
            Term::atom("nil"),
            Term::Tuple(vec![Term::Integer(9)]),
            Term::Tuple(vec![Term::Integer(1), Term::Integer(1)]),
            Term::Map(vec![]),
            Term::List(vec![]),
            Term::List(vec![Term::Integer(1)]),
            Term::Binary(vec![]),
            Term::binary("a"),
            Term::binary("ab"),
            Term::binary("b"),
        ];
        for pair in sorted.windows(2) {
            assert_eq!(pair[0].erlang_cmp(&pair[1]), Ordering::Less, "{pair:?}");
            assert_eq!(pair[1].erlang_cmp(&pair[0]), Ordering::Greater, "{pair:?}");
        }
    }

    /// Found by the etf_decode fuzzer: mixed integers, floats and NaN made sorting panic.
    #[test]
    fn number_order_is_total() {
        let big = 1i128 << 53;
        let mut numbers = vec![
            Term::Float(f64::NAN),
            Term::Float(-f64::NAN),
            Term::Float(-0.0),
            Term::Float(0.0),
            Term::Integer(0),
            Term::Float(big as f64),
            Term::Float((big + 4) as f64),
            Term::Float(-1e300),
            Term::Float(f64::INFINITY),
        ];
        for d in 0..6 {
            numbers.push(Term::Integer(big + d));
            numbers.push(Term::Integer(-big - d));
        }
        numbers.extend([Term::Integer(i128::MAX), Term::Integer(i128::MIN)]);
        for a in &numbers {
            for b in &numbers {
                assert_eq!(a.erlang_cmp(b), b.erlang_cmp(a).reverse(), "{a:?} {b:?}");
                for c in &numbers {
                    if a.erlang_cmp(b).is_le() && b.erlang_cmp(c).is_le() {
                        assert!(a.erlang_cmp(c).is_le(), "{a:?} <= {b:?} <= {c:?}");
                    }
                }
            }
        }
        numbers.sort_by(|a, b| a.erlang_cmp(b));
    }
}

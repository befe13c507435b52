//! The external term format (`application/vnd.hex+erlang`).
//!
//! [`encode`] writes what `erlang:term_to_binary/1` writes on OTP 25 for the same term
//! (`ATOM_EXT` atoms, `NEW_FLOAT_EXT` floats, `STRING_EXT` for byte lists, small-map keys in term
//! order). Maps of more than 32 keys are written in term order too, where Erlang uses its hash
//! order: the bytes differ, the decoded map does not.
//!
//! [`decode`] is safe by construction: the only atoms are `true`, `false` and `nil`; compressed
//! terms, pids, ports, references, funs and bit strings are refused; nesting and declared
//! lengths are bounded, so hostile input cannot exhaust memory or the stack.

use crate::Term;

const VERSION: u8 = 131;
const NEW_FLOAT_EXT: u8 = 70;
const COMPRESSED: u8 = 80;
const SMALL_INTEGER_EXT: u8 = 97;
const INTEGER_EXT: u8 = 98;
const FLOAT_EXT: u8 = 99;
const ATOM_EXT: u8 = 100;
const SMALL_TUPLE_EXT: u8 = 104;
const LARGE_TUPLE_EXT: u8 = 105;
const NIL_EXT: u8 = 106;
const STRING_EXT: u8 = 107;
const LIST_EXT: u8 = 108;
const BINARY_EXT: u8 = 109;
const SMALL_BIG_EXT: u8 = 110;
const LARGE_BIG_EXT: u8 = 111;
const SMALL_ATOM_EXT: u8 = 115;
const MAP_EXT: u8 = 116;
const ATOM_UTF8_EXT: u8 = 118;
const SMALL_ATOM_UTF8_EXT: u8 = 119;

/// The atoms a decoded term may hold.
pub const ALLOWED_ATOMS: [&str; 3] = ["true", "false", "nil"];
/// Default bound on nesting when decoding.
pub const MAX_DEPTH: usize = 64;

/// Why bytes are not an acceptable term.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EtfError {
    #[error("missing version byte 131")]
    BadVersion,
    #[error("compressed terms are not accepted")]
    Compressed,
    #[error("the term ends early")]
    Truncated,
    #[error("{0} bytes follow the term")]
    TrailingBytes(usize),
    #[error("atom {0:?} is not accepted (only true, false and nil)")]
    ForbiddenAtom(String),
    #[error("{0} are not accepted")]
    ForbiddenKind(&'static str),
    #[error("unknown term tag {0}")]
    UnknownTag(u8),
    #[error("terms nest deeper than {0} levels")]
    TooDeep(usize),
    #[error("integer does not fit in 128 bits")]
    IntegerTooLarge,
    #[error("improper lists are not accepted")]
    ImproperList,
    #[error("map has a duplicate key")]
    DuplicateKey,
    #[error("invalid {0}")]
    Invalid(&'static str),
}

/// Encodes a term as `term_to_binary/1` does.
pub fn encode(term: &Term) -> Vec<u8> {
    let mut out = vec![VERSION];
    encode_into(term, &mut out);
    out
}

fn encode_into(term: &Term, out: &mut Vec<u8>) {
    match term {
        Term::Atom(name) => encode_atom(name, out),
        Term::Integer(n) => encode_integer(*n, out),
        Term::Float(f) => {
            out.push(NEW_FLOAT_EXT);
            out.extend(f.to_be_bytes());
        }
        Term::Binary(bytes) => {
            out.push(BINARY_EXT);
            out.extend((bytes.len() as u32).to_be_bytes());
            out.extend(bytes);
        }
        Term::List(items) if items.is_empty() => out.push(NIL_EXT),
        Term::List(items) => {
            let bytes: Option<Vec<u8>> = items
                .iter()
                .map(|t| match t {
                    Term::Integer(n) => u8::try_from(*n).ok(),
                    _ => None,
                })
                .collect();
            match bytes {
                Some(bytes) if bytes.len() <= usize::from(u16::MAX) => {
                    out.push(STRING_EXT);
                    out.extend((bytes.len() as u16).to_be_bytes());
                    out.extend(bytes);
                }
                _ => {
                    out.push(LIST_EXT);
                    out.extend((items.len() as u32).to_be_bytes());
                    for item in items {
                        encode_into(item, out);
                    }
                    out.push(NIL_EXT);
                }
            }
        }
        Term::Tuple(items) => {
            if let Ok(arity) = u8::try_from(items.len()) {
                out.extend([SMALL_TUPLE_EXT, arity]);
            } else {
                out.push(LARGE_TUPLE_EXT);
                out.extend((items.len() as u32).to_be_bytes());
            }
            for item in items {
                encode_into(item, out);
            }
        }
        Term::Map(pairs) => {
            let mut sorted: Vec<&(Term, Term)> = pairs.iter().collect();
            sorted.sort_by(|a, b| a.0.erlang_cmp(&b.0));
            out.push(MAP_EXT);
            out.extend((sorted.len() as u32).to_be_bytes());
            for (k, v) in sorted {
                encode_into(k, out);
                encode_into(v, out);
            }
        }
    }
}

fn encode_atom(name: &str, out: &mut Vec<u8>) {
    if name.chars().all(|c| (c as u32) < 256) && name.chars().count() < 256 {
        out.push(ATOM_EXT);
        out.extend((name.chars().count() as u16).to_be_bytes());
        out.extend(name.chars().map(|c| c as u8));
    } else if let Ok(len) = u8::try_from(name.len()) {
        out.extend([SMALL_ATOM_UTF8_EXT, len]);
        out.extend(name.as_bytes());
    } else {
        out.push(ATOM_UTF8_EXT);
        out.extend((name.len() as u16).to_be_bytes());
        out.extend(name.as_bytes());
    }
}

fn encode_integer(n: i128, out: &mut Vec<u8>) {
    if let Ok(small) = u8::try_from(n) {
        out.extend([SMALL_INTEGER_EXT, small]);
    } else if let Ok(int) = i32::try_from(n) {
        out.push(INTEGER_EXT);
        out.extend(int.to_be_bytes());
    } else {
        let magnitude = n.unsigned_abs().to_le_bytes();
        let len = 16 - magnitude.iter().rev().take_while(|&&b| b == 0).count();
        out.extend([SMALL_BIG_EXT, len as u8, u8::from(n < 0)]);
        out.extend(&magnitude[..len]);
    }
}

/// Decodes a whole body, refusing anything after the term.
pub fn decode(bytes: &[u8]) -> Result<Term, EtfError> {
    decode_with_depth(bytes, MAX_DEPTH)
}

/// [`decode`] with another nesting bound.
pub fn decode_with_depth(bytes: &[u8], max_depth: usize) -> Result<Term, EtfError> {
    match bytes.first() {
        Some(&VERSION) => {}
        None => return Err(EtfError::Truncated),
        Some(_) => return Err(EtfError::BadVersion),
    }
    let mut d = Decoder { bytes, pos: 1, max_depth };
    let term = d.term(0)?;
    match bytes.len() - d.pos {
        0 => Ok(term),
        n => Err(EtfError::TrailingBytes(n)),
    }
}

struct Decoder<'a> {
    bytes: &'a [u8],
    pos: usize,
    max_depth: usize,
}

impl<'a> Decoder<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], EtfError> {
        let end = self.pos.checked_add(n).ok_or(EtfError::Truncated)?;
        let slice = self.bytes.get(self.pos..end).ok_or(EtfError::Truncated)?;
        self.pos = end;
        Ok(slice)
    }

    fn u8(&mut self) -> Result<u8, EtfError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<usize, EtfError> {
        let b = self.take(2)?;
        Ok(usize::from(u16::from_be_bytes([b[0], b[1]])))
    }

    fn u32(&mut self) -> Result<usize, EtfError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
    }

    /// A declared element count, bounded by what the remaining bytes could hold.
    fn count(&mut self, n: usize, min_bytes_each: usize) -> Result<usize, EtfError> {
        let remaining = self.bytes.len() - self.pos;
        if n.saturating_mul(min_bytes_each) > remaining {
            return Err(EtfError::Truncated);
        }
        Ok(n)
    }

    fn term(&mut self, depth: usize) -> Result<Term, EtfError> {
        if depth > self.max_depth {
            return Err(EtfError::TooDeep(self.max_depth));
        }
        let tag = self.u8()?;
        Ok(match tag {
            SMALL_INTEGER_EXT => Term::Integer(i128::from(self.u8()?)),
            INTEGER_EXT => {
                let b = self.take(4)?;
                Term::Integer(i128::from(i32::from_be_bytes([b[0], b[1], b[2], b[3]])))
            }
            SMALL_BIG_EXT => {
                let n = usize::from(self.u8()?);
                self.big(n)?
            }
            LARGE_BIG_EXT => {
                let n = self.u32()?;
                self.big(n)?
            }
            NEW_FLOAT_EXT => {
                let b = self.take(8)?;
                let f = f64::from_be_bytes(b.try_into().map_err(|_| EtfError::Truncated)?);
                // Erlang has no NaN or infinity; binary_to_term refuses them too
                if !f.is_finite() {
                    return Err(EtfError::Invalid("float"));
                }
                Term::Float(f)
            }
            FLOAT_EXT => {
                let text = self.take(31)?;
                let text = std::str::from_utf8(text).map_err(|_| EtfError::Invalid("float"))?;
                let f: f64 = text.trim_end_matches('\0').trim().parse().map_err(|_| EtfError::Invalid("float"))?;
                if !f.is_finite() {
                    return Err(EtfError::Invalid("float"));
                }
                Term::Float(f)
            }
            ATOM_EXT | SMALL_ATOM_EXT | ATOM_UTF8_EXT | SMALL_ATOM_UTF8_EXT => {
                let len = if matches!(tag, ATOM_EXT | ATOM_UTF8_EXT) { self.u16()? } else { usize::from(self.u8()?) };
                let raw = self.take(len)?;
                let name: String = if matches!(tag, ATOM_EXT | SMALL_ATOM_EXT) {
                    raw.iter().map(|&b| char::from(b)).collect()
                } else {
                    std::str::from_utf8(raw).map_err(|_| EtfError::Invalid("atom"))?.to_owned()
                };
                if !ALLOWED_ATOMS.contains(&name.as_str()) {
                    return Err(EtfError::ForbiddenAtom(name));
                }
                Term::Atom(name)
            }
            SMALL_TUPLE_EXT | LARGE_TUPLE_EXT => {
                let n = if tag == SMALL_TUPLE_EXT { usize::from(self.u8()?) } else { self.u32()? };
                let n = self.count(n, 1)?;
                Term::Tuple((0..n).map(|_| self.term(depth + 1)).collect::<Result<_, _>>()?)
            }
            NIL_EXT => Term::List(Vec::new()),
            STRING_EXT => {
                let n = self.u16()?;
                Term::List(self.take(n)?.iter().map(|&b| Term::Integer(i128::from(b))).collect())
            }
            LIST_EXT => {
                let n = self.u32()?;
                let n = self.count(n, 1)?;
                let items = (0..n).map(|_| self.term(depth + 1)).collect::<Result<_, _>>()?;
                if self.u8()? != NIL_EXT {
                    return Err(EtfError::ImproperList);
                }
                Term::List(items)
            }
            BINARY_EXT => {
                let n = self.u32()?;
                Term::Binary(self.take(n)?.to_vec())
            }
            MAP_EXT => {
                let n = self.u32()?;
                let n = self.count(n, 2)?;
                let mut pairs: Vec<(Term, Term)> = Vec::with_capacity(n);
                for _ in 0..n {
                    let key = self.term(depth + 1)?;
                    let value = self.term(depth + 1)?;
                    pairs.push((key, value));
                }
                let mut keys: Vec<&Term> = pairs.iter().map(|(k, _)| k).collect();
                keys.sort_by(|a, b| a.erlang_cmp(b));
                if keys.windows(2).any(|w| w[0].erlang_cmp(w[1]).is_eq()) {
                    return Err(EtfError::DuplicateKey);
                }
                Term::Map(pairs)
            }
            COMPRESSED => return Err(EtfError::Compressed),
            77 => return Err(EtfError::ForbiddenKind("bit strings")),
            88 | 103 => return Err(EtfError::ForbiddenKind("pids")),
            89 | 102 | 120 => return Err(EtfError::ForbiddenKind("ports")),
            90 | 101 | 114 => return Err(EtfError::ForbiddenKind("references")),
            112 | 113 | 117 => return Err(EtfError::ForbiddenKind("funs")),
            68 | 82 => return Err(EtfError::ForbiddenKind("atom cache references")),
            other => return Err(EtfError::UnknownTag(other)),
        })
    }

    fn big(&mut self, n: usize) -> Result<Term, EtfError> {
        let sign = self.u8()?;
        let digits = self.take(n)?;
        let significant = digits.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
        if significant > 16 {
            return Err(EtfError::IntegerTooLarge);
        }
        let mut le = [0u8; 16];
        le[..significant].copy_from_slice(&digits[..significant]);
        let magnitude = u128::from_le_bytes(le);
        let value = match sign {
            0 => i128::try_from(magnitude).map_err(|_| EtfError::IntegerTooLarge)?,
            1 if magnitude == i128::MIN.unsigned_abs() => i128::MIN,
            1 => -i128::try_from(magnitude).map_err(|_| EtfError::IntegerTooLarge)?,
            _ => return Err(EtfError::Invalid("integer sign")),
        };
        Ok(Term::Integer(value))
    }
}

/// Serializes a value to ETF through its JSON form: `null` becomes `nil`, strings binaries,
/// objects maps with binary keys.
pub fn to_vec<T: serde::Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, serde_json::Error> {
    Ok(encode(&crate::json::from_json(&serde_json::to_value(value)?)))
}

/// Why an ETF body could not be read as a value.
#[derive(Debug, thiserror::Error)]
pub enum FromEtfError {
    #[error(transparent)]
    Etf(#[from] EtfError),
    #[error(transparent)]
    Json(#[from] crate::json::JsonError),
    #[error(transparent)]
    Shape(#[from] serde_json::Error),
}

/// Deserializes a value from an ETF body through its JSON form.
pub fn from_slice<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, FromEtfError> {
    let value = crate::json::to_json(&decode(bytes)?)?;
    Ok(serde_json::from_value(value)?)
}

#[cfg(test)]
mod tests;

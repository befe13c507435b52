//! The `metadata.config` text format: a sequence of `Term.` forms in the subset of Erlang that
//! hex_core's `safe_erl_term` reads. Integers, atoms, strings, binaries (`<<"text">>`,
//! `<<"text"/utf8>>`, `<<1,2,3>>`), lists, tuples and maps; no floats, variables, comments,
//! `$c` characters, radix integers or improper lists.
//!
//! The input is decoded as UTF-8, or as latin-1 when it is not valid UTF-8, as hex_core does.
//! A `<<"…">>` without `/utf8` stores each character as one byte like Erlang; when a character
//! does not fit in a byte (Gleam writes raw UTF-8 without `/utf8`), Erlang would truncate it,
//! while this parser keeps the whole string as UTF-8, which is what its author meant.

use std::fmt::Write as _;

use crate::Term;

/// hex_core's limit on the size of `metadata.config`.
pub const MAX_TEXT_LEN: usize = 1024 * 1024;
/// Deeper nesting than this is refused; real metadata nests four levels at most.
pub const MAX_DEPTH: usize = 64;

/// A parse error, at a 1-based line and column of the decoded text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct TextError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Parses every `Term.` form of the text.
pub fn parse(bytes: &[u8]) -> Result<Vec<Term>, TextError> {
    if bytes.len() > MAX_TEXT_LEN {
        return Err(TextError { line: 1, column: 1, message: format!("is larger than {MAX_TEXT_LEN} bytes") });
    }
    let chars: Vec<char> = match std::str::from_utf8(bytes) {
        Ok(s) => s.chars().collect(),
        Err(_) => bytes.iter().map(|&b| char::from(b)).collect(),
    };
    let mut p = Parser { chars, pos: 0, line: 1, column: 1 };
    let mut terms = Vec::new();
    loop {
        p.skip_whitespace();
        if p.peek().is_none() {
            return Ok(terms);
        }
        terms.push(p.term(0)?);
        p.skip_whitespace();
        p.expect('.')?;
    }
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
    line: usize,
    column: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, offset: usize) -> Option<char> {
        self.chars.get(self.pos + offset).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        if c == '\n' {
            self.line += 1;
            self.column = 1;
        } else {
            self.column += 1;
        }
        Some(c)
    }

    fn error<T>(&self, message: impl Into<String>) -> Result<T, TextError> {
        Err(TextError { line: self.line, column: self.column, message: message.into() })
    }

    fn skip_whitespace(&mut self) {
        // erl_scan treats every character up to the space as white space
        while self.peek().is_some_and(|c| c <= ' ') {
            self.bump();
        }
    }

    fn expect(&mut self, want: char) -> Result<(), TextError> {
        self.skip_whitespace();
        match self.peek() {
            Some(c) if c == want => {
                self.bump();
                Ok(())
            }
            Some(c) => self.error(format!("expected {want:?}, found {c:?}")),
            None => self.error(format!("expected {want:?}, found the end of the text")),
        }
    }

    fn eat(&mut self, want: &str) -> bool {
        self.skip_whitespace();
        let matches = want.chars().enumerate().all(|(i, c)| self.peek_at(i) == Some(c));
        if matches {
            for _ in want.chars() {
                self.bump();
            }
        }
        matches
    }

    fn term(&mut self, depth: usize) -> Result<Term, TextError> {
        if depth > MAX_DEPTH {
            return self.error(format!("terms nest deeper than {MAX_DEPTH} levels"));
        }
        self.skip_whitespace();
        match self.peek() {
            None => self.error("expected a term, found the end of the text"),
            Some('{') => {
                self.bump();
                Ok(Term::Tuple(self.sequence('}', depth)?))
            }
            Some('[') => {
                self.bump();
                Ok(Term::List(self.sequence(']', depth)?))
            }
            Some('#') => {
                self.bump();
                self.expect('{')?;
                self.map(depth)
            }
            Some('<') if self.peek_at(1) == Some('<') => {
                self.bump();
                self.bump();
                self.binary()
            }
            Some('"') => {
                let mut s = self.string()?;
                // adjacent string literals are one string, as in Erlang
                while {
                    self.skip_whitespace();
                    self.peek() == Some('"')
                } {
                    s.extend(self.string()?);
                }
                Ok(Term::List(s.into_iter().map(|c| Term::Integer(c as i128)).collect()))
            }
            Some(c @ ('-' | '+')) => {
                self.bump();
                self.skip_whitespace();
                if !self.peek().is_some_and(|c| c.is_ascii_digit()) {
                    return self.error(format!("expected a number after {c:?}"));
                }
                let n = self.integer()?;
                Ok(Term::Integer(if c == '-' { -n } else { n }))
            }
            Some(c) if c.is_ascii_digit() => Ok(Term::Integer(self.integer()?)),
            Some(c) if c.is_ascii_lowercase() => {
                let mut name = String::new();
                while let Some(c) = self.peek().filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '@') {
                    name.push(c);
                    self.bump();
                }
                Ok(Term::Atom(name))
            }
            Some('\'') => {
                let chars = self.quoted('\'')?;
                Ok(Term::Atom(chars.into_iter().collect()))
            }
            Some(c) if c.is_uppercase() || c == '_' => self.error("variables are not allowed"),
            Some(c) => self.error(format!("unexpected character {c:?}")),
        }
    }

    /// Terms separated by commas up to `close`; the opening bracket is consumed.
    fn sequence(&mut self, close: char, depth: usize) -> Result<Vec<Term>, TextError> {
        let mut items = Vec::new();
        self.skip_whitespace();
        if self.peek() == Some(close) {
            self.bump();
            return Ok(items);
        }
        loop {
            items.push(self.term(depth + 1)?);
            self.skip_whitespace();
            match self.peek() {
                Some(',') => {
                    self.bump();
                }
                Some(c) if c == close => {
                    self.bump();
                    return Ok(items);
                }
                Some('|') => return self.error("improper lists are not allowed"),
                Some(c) => return self.error(format!("expected ',' or {close:?}, found {c:?}")),
                None => return self.error(format!("expected {close:?}, found the end of the text")),
            }
        }
    }

    fn map(&mut self, depth: usize) -> Result<Term, TextError> {
        let mut pairs = Vec::new();
        if self.eat("}") {
            return Ok(Term::Map(pairs));
        }
        loop {
            let key = self.term(depth + 1)?;
            if !self.eat("=>") {
                return self.error("expected '=>'");
            }
            let value = self.term(depth + 1)?;
            pairs.push((key, value));
            if self.eat("}") {
                return Ok(Term::Map(pairs));
            }
            self.expect(',')?;
        }
    }

    /// The segments of `<<…>>` after the opening `<<`.
    fn binary(&mut self) -> Result<Term, TextError> {
        let mut bytes = Vec::new();
        if self.eat(">>") {
            return Ok(Term::Binary(bytes));
        }
        loop {
            self.skip_whitespace();
            match self.peek() {
                Some('"') => {
                    let chars = self.string()?;
                    if self.eat("/") {
                        if !self.eat("utf8") {
                            return self.error("only the /utf8 binary type is allowed");
                        }
                        bytes.extend(chars.iter().collect::<String>().bytes());
                    } else if chars.iter().all(|&c| (c as u32) < 256) {
                        bytes.extend(chars.iter().map(|&c| c as u8));
                    } else {
                        bytes.extend(chars.iter().collect::<String>().bytes());
                    }
                }
                Some(c) if c.is_ascii_digit() => {
                    let n = self.integer()?;
                    match u8::try_from(n) {
                        Ok(b) => bytes.push(b),
                        Err(_) => return self.error(format!("binary segment {n} is not a byte")),
                    }
                }
                _ => return self.error("expected a string or a byte in a binary"),
            }
            if self.eat(">>") {
                return Ok(Term::Binary(bytes));
            }
            self.expect(',')?;
        }
    }

    fn integer(&mut self) -> Result<i128, TextError> {
        let mut digits = String::new();
        while let Some(c) = self.peek().filter(char::is_ascii_digit) {
            digits.push(c);
            self.bump();
        }
        match self.peek() {
            Some('.') if self.peek_at(1).is_some_and(|c| c.is_ascii_digit()) => {
                return self.error("floats are not allowed");
            }
            Some('#') => return self.error("radix integers are not allowed"),
            _ => {}
        }
        match digits.parse() {
            Ok(n) => Ok(n),
            Err(_) => self.error("integer is too large"),
        }
    }

    fn string(&mut self) -> Result<Vec<char>, TextError> {
        self.quoted('"')
    }

    /// A quoted string or atom with Erlang's escapes; the opening quote is next.
    fn quoted(&mut self, quote: char) -> Result<Vec<char>, TextError> {
        self.bump();
        let mut out = Vec::new();
        loop {
            match self.bump() {
                None => return self.error("unterminated string"),
                Some(c) if c == quote => return Ok(out),
                Some('\\') => out.push(self.escape()?),
                Some(c) => out.push(c),
            }
        }
    }

    fn escape(&mut self) -> Result<char, TextError> {
        let Some(c) = self.bump() else { return self.error("unterminated string") };
        Ok(match c {
            'b' => '\u{8}',
            'd' => '\u{7f}',
            'e' => '\u{1b}',
            'f' => '\u{c}',
            'n' => '\n',
            'r' => '\r',
            's' => ' ',
            't' => '\t',
            'v' => '\u{b}',
            '0'..='7' => {
                let mut n = c.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    match self.peek().and_then(|d| d.to_digit(8)) {
                        Some(d) => {
                            n = n * 8 + d;
                            self.bump();
                        }
                        None => break,
                    }
                }
                char::from_u32(n).unwrap_or('\0')
            }
            '^' => match self.bump() {
                Some(x) => char::from_u32(x as u32 & 31).unwrap_or('\0'),
                None => return self.error("unterminated string"),
            },
            other => other,
        })
    }
}

/// Writes terms as a `metadata.config` text: one `Term.` form per line, UTF-8.
pub fn write(terms: &[Term]) -> String {
    let mut out = String::new();
    for term in terms {
        write_term(term, &mut out);
        out.push_str(".\n");
    }
    out
}

/// Writes one term in the text syntax.
pub fn write_term(term: &Term, out: &mut String) {
    match term {
        Term::Atom(a) => write_atom(a, out),
        Term::Integer(n) => {
            let _ = write!(out, "{n}");
        }
        // The grammar has no floats; a float never comes out of `parse`.
        Term::Float(f) => {
            let _ = write!(out, "{f:?}");
        }
        Term::Binary(bytes) => write_binary(bytes, out),
        Term::List(items) if !items.is_empty() && printable_charlist(items) => {
            out.push('"');
            for item in items {
                if let Term::Integer(n) = item {
                    escape_char(char::from(*n as u8), '"', out);
                }
            }
            out.push('"');
        }
        Term::List(items) => write_seq('[', ']', items, out),
        Term::Tuple(items) => write_seq('{', '}', items, out),
        Term::Map(pairs) => {
            out.push_str("#{");
            for (i, (k, v)) in pairs.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_term(k, out);
                out.push_str(" => ");
                write_term(v, out);
            }
            out.push('}');
        }
    }
}

fn write_seq(open: char, close: char, items: &[Term], out: &mut String) {
    out.push(open);
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_term(item, out);
    }
    out.push(close);
}

fn printable_charlist(items: &[Term]) -> bool {
    items.iter().all(|t| matches!(t, Term::Integer(n) if (32..127).contains(n) || [9, 10, 13].contains(n)))
}

fn write_atom(name: &str, out: &mut String) {
    let bare = name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '@');
    if bare {
        out.push_str(name);
    } else {
        out.push('\'');
        for c in name.chars() {
            escape_char(c, '\'', out);
        }
        out.push('\'');
    }
}

/// `<<"ascii">>`, `<<"unicode"/utf8>>`, or escapes for bytes that are not UTF-8.
fn write_binary(bytes: &[u8], out: &mut String) {
    out.push_str("<<\"");
    match std::str::from_utf8(bytes) {
        Ok(s) => {
            for c in s.chars() {
                escape_char(c, '"', out);
            }
            out.push('"');
            if !s.is_ascii() {
                out.push_str("/utf8");
            }
        }
        Err(_) => {
            for &b in bytes {
                if b.is_ascii() {
                    escape_char(char::from(b), '"', out);
                } else {
                    let _ = write!(out, "\\{b:03o}");
                }
            }
            out.push('"');
        }
    }
    out.push_str(">>");
}

fn escape_char(c: char, quote: char, out: &mut String) {
    match c {
        '\\' => out.push_str("\\\\"),
        '\n' => out.push_str("\\n"),
        '\t' => out.push_str("\\t"),
        '\r' => out.push_str("\\r"),
        c if c == quote => {
            out.push('\\');
            out.push(c);
        }
        c if (c as u32) < 32 || c as u32 == 127 => {
            let _ = write!(out, "\\{:03o}", c as u32);
        }
        c => out.push(c),
    }
}

#[cfg(test)]
mod tests;

//! JSON text as Python writes it with `json.dumps(json.loads(text),
//! sort_keys=True)`, so an MD5 over it equals the hash a Python backend or
//! agent computes for the same document (the config-pull connector compares
//! the two).
//!
//! What Python does, and so what this module does (CPython 3.11 `json`):
//! - parsing (`json.loads`, strict): numbers with a fraction or an exponent
//!   are floats (`1e400` is infinity), others are integers of any size
//!   (`-0` is `0`); `NaN`, `Infinity` and `-Infinity` are accepted; control
//!   characters in strings are refused; `\ud83d\ude00` pairs become one
//!   character and a lone surrogate stays as it is; a repeated key keeps its
//!   last value;
//! - writing (`json.dumps`, `sort_keys=True`, `ensure_ascii=True`): `", "`
//!   between items and `": "` after keys; keys sorted by code point; every
//!   character outside `' '..='~'` escaped, as `\n`, `\r`, `\t`, `\b`, `\f` or
//!   `\u00xx` (lower-case hex, astral characters as a surrogate pair); floats
//!   as `repr` writes them (the shortest digits that read back the same,
//!   `1e-05` and `1e+16` in exponent form, `1.0` for whole numbers;
//!   `Infinity`, `-Infinity`, `NaN`).
//!
//! The text is parsed by this module rather than by `serde_json`: serde_json
//! would round big integers to floats and refuse lone surrogates, and either
//! changes the hash.

use std::fmt::Write as _;

/// Why a document is not JSON as Python reads it; `at` is a byte offset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not JSON at byte {at}: {what}")]
pub struct PyJsonError {
    pub at: usize,
    pub what: String,
}

/// A parsed value, keeping what Python keeps.
#[derive(Debug, Clone, PartialEq)]
enum Py {
    Null,
    Bool(bool),
    /// Decimal digits with an optional leading `-`, never `-0`.
    Int(String),
    Float(f64),
    /// Code points; lone surrogates (0xD800–0xDFFF) stay.
    Str(Vec<u32>),
    Array(Vec<Py>),
    /// Sorted by key, each key once (the last value of a repeated key).
    Object(Vec<(Vec<u32>, Py)>),
}

/// `json.dumps(json.loads(text), sort_keys=True)`, leaving out the top-level
/// key `without` when given (the hash field of a document that carries its
/// own hash).
pub fn dumps_sorted(text: &[u8], without: Option<&str>) -> Result<String, PyJsonError> {
    let text = text.strip_prefix(b"\xef\xbb\xbf").unwrap_or(text);
    let text = std::str::from_utf8(text).map_err(|e| PyJsonError {
        at: e.valid_up_to(),
        what: "invalid UTF-8".into(),
    })?;
    let mut p = Parser {
        s: text.as_bytes(),
        text,
        i: 0,
        depth: 0,
    };
    p.ws();
    let mut value = p.value()?;
    p.ws();
    if p.i != p.s.len() {
        return Err(p.err("extra data after the document"));
    }
    if let (Some(key), Py::Object(members)) = (without, &mut value) {
        let key: Vec<u32> = key.chars().map(u32::from).collect();
        members.retain(|(k, _)| *k != key);
    }
    let mut out = String::with_capacity(text.len());
    write(&value, &mut out);
    Ok(out)
}

/// Python's recursion limit keeps real documents far below this; it bounds
/// the stack for hostile ones.
const MAX_DEPTH: usize = 512;

struct Parser<'a> {
    s: &'a [u8],
    text: &'a str,
    i: usize,
    depth: usize,
}

impl Parser<'_> {
    fn err(&self, what: &str) -> PyJsonError {
        PyJsonError {
            at: self.i,
            what: what.to_string(),
        }
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.s.get(self.i) {
            self.i += 1;
        }
    }

    fn eat(&mut self, word: &str) -> bool {
        if self.s[self.i..].starts_with(word.as_bytes()) {
            self.i += word.len();
            true
        } else {
            false
        }
    }

    fn value(&mut self) -> Result<Py, PyJsonError> {
        match self.s.get(self.i) {
            None => Err(self.err("expected a value, found the end")),
            Some(b'{') => self.nested(Self::object),
            Some(b'[') => self.nested(Self::array),
            Some(b'"') => Ok(Py::Str(self.string()?)),
            Some(b'-' | b'0'..=b'9') => {
                if self.eat("-Infinity") {
                    return Ok(Py::Float(f64::NEG_INFINITY));
                }
                self.number()
            }
            Some(_) if self.eat("null") => Ok(Py::Null),
            Some(_) if self.eat("true") => Ok(Py::Bool(true)),
            Some(_) if self.eat("false") => Ok(Py::Bool(false)),
            Some(_) if self.eat("NaN") => Ok(Py::Float(f64::NAN)),
            Some(_) if self.eat("Infinity") => Ok(Py::Float(f64::INFINITY)),
            Some(_) => Err(self.err("expected a value")),
        }
    }

    fn nested(&mut self, f: fn(&mut Self) -> Result<Py, PyJsonError>) -> Result<Py, PyJsonError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err("nested too deep"));
        }
        let v = f(self);
        self.depth -= 1;
        v
    }

    fn object(&mut self) -> Result<Py, PyJsonError> {
        self.i += 1; // {
        let mut members: Vec<(Vec<u32>, Py)> = Vec::new();
        self.ws();
        if self.eat("}") {
            return Ok(Py::Object(members));
        }
        loop {
            self.ws();
            if self.s.get(self.i) != Some(&b'"') {
                return Err(self.err("expected a key in double quotes"));
            }
            let key = self.string()?;
            self.ws();
            if !self.eat(":") {
                return Err(self.err("expected ':'"));
            }
            self.ws();
            let value = self.value()?;
            members.push((key, value));
            self.ws();
            if self.eat(",") {
                continue;
            }
            if self.eat("}") {
                break;
            }
            return Err(self.err("expected ',' or '}'"));
        }
        // Stable: a repeated key's values stay in order; the last one wins.
        members.sort_by(|a, b| a.0.cmp(&b.0));
        let mut unique: Vec<(Vec<u32>, Py)> = Vec::with_capacity(members.len());
        for m in members {
            if unique.last().is_some_and(|last| last.0 == m.0) {
                unique.pop();
            }
            unique.push(m);
        }
        Ok(Py::Object(unique))
    }

    fn array(&mut self) -> Result<Py, PyJsonError> {
        self.i += 1; // [
        let mut items = Vec::new();
        self.ws();
        if self.eat("]") {
            return Ok(Py::Array(items));
        }
        loop {
            self.ws();
            items.push(self.value()?);
            self.ws();
            if self.eat(",") {
                continue;
            }
            if self.eat("]") {
                return Ok(Py::Array(items));
            }
            return Err(self.err("expected ',' or ']'"));
        }
    }

    fn hex4(&mut self) -> Result<u32, PyJsonError> {
        let digits = self
            .text
            .get(self.i..self.i + 4)
            .filter(|d| d.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| self.err("invalid \\u escape"))?;
        self.i += 4;
        u32::from_str_radix(digits, 16).map_err(|_| self.err("invalid \\u escape"))
    }

    fn string(&mut self) -> Result<Vec<u32>, PyJsonError> {
        self.i += 1; // opening quote
        let mut out = Vec::new();
        loop {
            let Some(&b) = self.s.get(self.i) else {
                return Err(self.err("unterminated string"));
            };
            match b {
                b'"' => {
                    self.i += 1;
                    return Ok(out);
                }
                b'\\' => {
                    self.i += 1;
                    let Some(&e) = self.s.get(self.i) else {
                        return Err(self.err("unterminated string"));
                    };
                    self.i += 1;
                    let c = match e {
                        b'"' => 0x22,
                        b'\\' => 0x5c,
                        b'/' => 0x2f,
                        b'b' => 0x08,
                        b'f' => 0x0c,
                        b'n' => 0x0a,
                        b'r' => 0x0d,
                        b't' => 0x09,
                        b'u' => {
                            let c = self.hex4()?;
                            // A high surrogate followed by an escaped low one is
                            // one character (json.decoder py_scanstring).
                            if (0xd800..0xdc00).contains(&c) && self.s[self.i..].starts_with(b"\\u")
                            {
                                let save = self.i;
                                self.i += 2;
                                match self.hex4() {
                                    Ok(low) if (0xdc00..0xe000).contains(&low) => {
                                        0x10000 + ((c - 0xd800) << 10) + (low - 0xdc00)
                                    }
                                    _ => {
                                        self.i = save;
                                        c
                                    }
                                }
                            } else {
                                c
                            }
                        }
                        _ => {
                            self.i -= 1;
                            return Err(self.err("invalid escape"));
                        }
                    };
                    out.push(c);
                }
                0x00..=0x1f => return Err(self.err("control character in a string")),
                _ => {
                    let rest = &self.text[self.i..];
                    let Some(c) = rest.chars().next() else {
                        return Err(self.err("unterminated string"));
                    };
                    out.push(u32::from(c));
                    self.i += c.len_utf8();
                }
            }
        }
    }

    fn number(&mut self) -> Result<Py, PyJsonError> {
        let start = self.i;
        let digits = |p: &mut Self| {
            let from = p.i;
            while p.s.get(p.i).is_some_and(u8::is_ascii_digit) {
                p.i += 1;
            }
            p.i - from
        };
        self.eat("-");
        match self.s.get(self.i) {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                digits(self);
            }
            _ => return Err(self.err("expected a digit")),
        }
        let int_end = self.i;
        let mut is_float = false;
        if self.s.get(self.i) == Some(&b'.')
            && self.s.get(self.i + 1).is_some_and(u8::is_ascii_digit)
        {
            self.i += 1;
            digits(self);
            is_float = true;
        }
        if let Some(b'e' | b'E') = self.s.get(self.i) {
            let save = self.i;
            self.i += 1;
            if let Some(b'+' | b'-') = self.s.get(self.i) {
                self.i += 1;
            }
            if digits(self) == 0 {
                // Python's NUMBER_RE stops before a bare `e`: the number ends
                // there and what follows is extra data.
                self.i = save;
            } else {
                is_float = true;
            }
        }
        let text = &self.text[start..self.i];
        if is_float {
            let f: f64 = text.parse().map_err(|_| self.err("invalid number"))?;
            Ok(Py::Float(f))
        } else {
            let int = &self.text[start..int_end];
            let (neg, mag) = match int.strip_prefix('-') {
                Some(m) => (true, m),
                None => (false, int),
            };
            Ok(Py::Int(if neg && mag != "0" {
                format!("-{mag}")
            } else {
                mag.to_string()
            }))
        }
    }
}

fn write(v: &Py, out: &mut String) {
    match v {
        Py::Null => out.push_str("null"),
        Py::Bool(true) => out.push_str("true"),
        Py::Bool(false) => out.push_str("false"),
        Py::Int(digits) => out.push_str(digits),
        Py::Float(f) => out.push_str(&float_repr(*f)),
        Py::Str(s) => write_str(s, out),
        Py::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write(item, out);
            }
            out.push(']');
        }
        Py::Object(members) => {
            out.push('{');
            for (i, (k, item)) in members.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_str(k, out);
                out.push_str(": ");
                write(item, out);
            }
            out.push('}');
        }
    }
}

/// `json.encoder.py_encode_basestring_ascii`.
fn write_str(s: &[u32], out: &mut String) {
    out.push('"');
    for &c in s {
        match c {
            0x22 => out.push_str("\\\""),
            0x5c => out.push_str("\\\\"),
            0x0a => out.push_str("\\n"),
            0x0d => out.push_str("\\r"),
            0x09 => out.push_str("\\t"),
            0x08 => out.push_str("\\b"),
            0x0c => out.push_str("\\f"),
            0x20..=0x7e => out.push(char::from(c as u8)),
            0x10000.. => {
                let v = c - 0x10000;
                let _ = write!(
                    out,
                    "\\u{:04x}\\u{:04x}",
                    0xd800 | ((v >> 10) & 0x3ff),
                    0xdc00 | (v & 0x3ff)
                );
            }
            _ => {
                let _ = write!(out, "\\u{c:04x}");
            }
        }
    }
    out.push('"');
}

/// `float.__repr__` (`repr` style `'r'` of `PyOS_double_to_string`): the
/// shortest digits that read back the same, in fixed notation when the
/// decimal point falls within -4 < decpt <= 16, else in exponent notation.
fn float_repr(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    // Rust's `{:e}` gives the shortest round-trip digits: `1.5e-5`, `-0e0`.
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let exp: i32 = exp.parse().unwrap_or(0);
    // 0.d1d2… × 10^decpt
    let decpt = exp + 1;
    let n = digits.len() as i32;
    if (-4 < decpt) && (decpt <= 16) {
        if decpt <= 0 {
            format!("{sign}0.{}{digits}", "0".repeat((-decpt) as usize))
        } else if decpt < n {
            let (a, b) = digits.split_at(decpt as usize);
            format!("{sign}{a}.{b}")
        } else {
            format!("{sign}{digits}{}.0", "0".repeat((decpt - n) as usize))
        }
    } else {
        let (first, rest) = digits.split_at(1);
        let dot = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let e = decpt - 1;
        let esign = if e < 0 { '-' } else { '+' };
        format!("{sign}{first}{dot}e{esign}{:02}", e.abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> String {
        dumps_sorted(s.as_bytes(), None).unwrap()
    }

    #[test]
    fn floats_as_python_repr_writes_them() {
        for (f, want) in [
            (1.0, "1.0"),
            (0.1, "0.1"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (123.456, "123.456"),
            (-0.0, "-0.0"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
            (12345678901234567890.0, "1.2345678901234567e+19"),
        ] {
            assert_eq!(float_repr(f), want, "{f}");
        }
    }

    #[test]
    fn documents_as_python_dumps_them() {
        assert_eq!(
            d(r#"{"b":1,"a":[true,null,{}],"c":[]}"#),
            r#"{"a": [true, null, {}], "b": 1, "c": []}"#
        );
        assert_eq!(d("-0"), "0");
        assert_eq!(
            d("123456789012345678901234567890"),
            "123456789012345678901234567890"
        );
        assert_eq!(d("1E400"), "Infinity");
        assert_eq!(d("[NaN, -Infinity, 2.50]"), "[NaN, -Infinity, 2.5]");
        assert_eq!(
            d(r#""é😀\u00e9\ud83d\ude00\ud800x\u007f/""#),
            r#""\u00e9\ud83d\ude00\u00e9\ud83d\ude00\ud800x\u007f/""#
        );
        assert_eq!(
            d(r#"{"a":1,"a":2}"#),
            r#"{"a": 2}"#,
            "the last value of a repeated key"
        );
        assert_eq!(
            d("{\"\u{e9}\":1,\"z\":2,\"\u{1f600}\":3}"),
            r#"{"z": 2, "\u00e9": 1, "\ud83d\ude00": 3}"#
        );
        assert_eq!(
            dumps_sorted(br#"{"h":"x","a":1}"#, Some("h")).unwrap(),
            r#"{"a": 1}"#
        );
        for bad in [
            "",
            "{",
            "[1,]",
            "01",
            "\"\u{1}\"",
            "1 2",
            "{'a':1}",
            "\"\\x\"",
            "tru",
        ] {
            assert!(dumps_sorted(bad.as_bytes(), None).is_err(), "{bad:?}");
        }
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(dumps_sorted(deep.as_bytes(), None).is_err());
    }
}

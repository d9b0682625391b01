//! Search over whole buffers: a file is read in 4 MiB blocks of complete
//! lines and the matcher runs over each block at once (memmem for
//! literals, `regex::bytes` otherwise); a hit is mapped back to its line by
//! counting newlines since the previous hit, so the matcher runs once per
//! block rather than once per line. One line counts once however many
//! times it matches, as `grep -c` counts.

use std::fs::File;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use serde::Serialize;

use super::names::LogLevel;

/// What to look for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SearchQuery {
    pub pattern: String,
    pub regex: bool,
    pub ignore_case: bool,
}

/// Compiled regexes are capped: an operator's pattern must not eat memory.
const REGEX_SIZE_LIMIT: usize = 8 << 20;

pub enum Matcher {
    Literal(Box<memchr::memmem::Finder<'static>>),
    Regex(regex::bytes::Regex),
}

impl SearchQuery {
    pub fn literal(pattern: &str) -> SearchQuery {
        SearchQuery {
            pattern: pattern.into(),
            regex: false,
            ignore_case: false,
        }
    }

    pub fn compile(&self) -> Result<Matcher, String> {
        if self.pattern.is_empty() {
            return Err("the search pattern is empty: give some text to look for".into());
        }
        if !self.regex && !self.ignore_case {
            let finder = memchr::memmem::Finder::new(self.pattern.as_bytes()).into_owned();
            return Ok(Matcher::Literal(Box::new(finder)));
        }
        let pattern = if self.regex {
            self.pattern.clone()
        } else {
            regex::escape(&self.pattern)
        };
        regex::bytes::RegexBuilder::new(&pattern)
            .case_insensitive(self.ignore_case)
            .multi_line(true)
            .size_limit(REGEX_SIZE_LIMIT)
            .dfa_size_limit(REGEX_SIZE_LIMIT)
            .build()
            .map(Matcher::Regex)
            .map_err(|e| match e {
                regex::Error::CompiledTooBig(_) => format!(
                    "the pattern is too large once compiled (limit {} MiB): make it simpler",
                    REGEX_SIZE_LIMIT >> 20
                ),
                e => format!("invalid regular expression: {e}"),
            })
    }
}

impl Matcher {
    /// Start of the first match at or after `at`.
    pub fn find_at(&self, hay: &[u8], at: usize) -> Option<usize> {
        match self {
            Matcher::Literal(f) => f.find(hay.get(at..)?).map(|i| i + at),
            Matcher::Regex(r) => r.find_at(hay, at).map(|m| m.start()),
        }
    }

    /// Byte ranges of the matches in a displayed line, for highlighting.
    pub fn ranges(&self, text: &str) -> Vec<Range<usize>> {
        let hay = text.as_bytes();
        match self {
            Matcher::Literal(f) => {
                let n = f.needle().len();
                f.find_iter(hay).map(|i| i..i + n).collect()
            }
            Matcher::Regex(r) => r
                .find_iter(hay)
                .filter(|m| !m.is_empty())
                .map(|m| m.range())
                .collect(),
        }
    }

    pub fn is_match(&self, line: &[u8]) -> bool {
        self.find_at(line, 0).is_some()
    }
}

const BLOCK: usize = 4 << 20;

/// Searches `file` from 0 to `end`, calling `on_hit(line_number, line)`
/// (0-based, newline excluded) for each matching line whose level passes
/// `min_level`; `on_hit` returns false to stop. Each block's bytes are added
/// to `scanned` as it is done (one counter can follow several files),
/// `cancel` stops between blocks. Returns the number of lines scanned.
pub fn search_file(
    file: &File,
    end: u64,
    matcher: &Matcher,
    min_level: Option<LogLevel>,
    cancel: &AtomicBool,
    scanned: &AtomicU64,
    mut on_hit: impl FnMut(u64, &[u8]) -> bool,
) -> std::io::Result<u64> {
    let mut buf = vec![0u8; BLOCK];
    let mut pos = 0u64;
    let mut lines_before = 0u64;
    while pos < end {
        if cancel.load(Ordering::Relaxed) {
            break;
        }
        let want = usize::try_from(end - pos)
            .unwrap_or(usize::MAX)
            .min(buf.len());
        let n = read_full(file, &mut buf[..want], pos)?;
        if n == 0 {
            break;
        }
        // Whole lines only; a line longer than the buffer grows it.
        let block_len = match memchr::memrchr(b'\n', &buf[..n]) {
            Some(i) => i + 1,
            None if pos + (n as u64) < end && n == buf.len() => {
                buf.resize(buf.len() * 2, 0);
                continue;
            }
            None => n,
        };
        let block = &buf[..block_len];
        let mut counted = 0usize;
        let mut at = 0usize;
        while let Some(hit) = matcher.find_at(block, at) {
            if hit >= block.len() {
                break;
            }
            let line_start = memchr::memrchr(b'\n', &block[..hit]).map_or(0, |i| i + 1);
            let line_end = memchr::memchr(b'\n', &block[hit..]).map_or(block.len(), |i| hit + i);
            lines_before += memchr::memchr_iter(b'\n', &block[counted..line_start]).count() as u64;
            counted = line_start;
            let line = &block[line_start..line_end];
            if LogLevel::passes(min_level, line) && !on_hit(lines_before, line) {
                return Ok(lines_before);
            }
            at = line_end + 1;
            if at >= block.len() {
                break;
            }
        }
        lines_before += memchr::memchr_iter(b'\n', &block[counted..]).count() as u64;
        pos += block_len as u64;
        scanned.fetch_add(block_len as u64, Ordering::Relaxed);
    }
    Ok(lines_before)
}

fn read_full(file: &File, buf: &mut [u8], pos: u64) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        let r = file.read_at(&mut buf[n..], pos + n as u64)?;
        if r == 0 {
            break;
        }
        n += r;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn hits(text: &str, q: SearchQuery, level: Option<LogLevel>) -> Vec<(u64, String)> {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        let m = q.compile().unwrap();
        let mut out = Vec::new();
        let (c, s) = (AtomicBool::new(false), AtomicU64::new(0));
        search_file(&f, text.len() as u64, &m, level, &c, &s, |n, l| {
            out.push((n, String::from_utf8_lossy(l).into_owned()));
            true
        })
        .unwrap();
        out
    }

    #[test]
    fn one_hit_per_line_with_line_numbers() {
        let text = "a x x\nb\nc x\n[AUTO-SYNC] [ERROR] 2025 [c] - X boom\nlast x";
        let h = hits(text, SearchQuery::literal("x"), None);
        assert_eq!(h.iter().map(|(n, _)| *n).collect::<Vec<_>>(), vec![0, 2, 4]);
        let q = SearchQuery {
            pattern: "x".into(),
            regex: false,
            ignore_case: true,
        };
        assert_eq!(hits(text, q.clone(), None).len(), 4);
        assert_eq!(
            hits(text, q, Some(LogLevel::Error)),
            vec![(3, "[AUTO-SYNC] [ERROR] 2025 [c] - X boom".into())]
        );
        let re = SearchQuery {
            pattern: "^c|boom$".into(),
            regex: true,
            ignore_case: false,
        };
        assert_eq!(
            hits(text, re, None)
                .iter()
                .map(|(n, _)| *n)
                .collect::<Vec<_>>(),
            vec![2, 3]
        );
    }

    #[test]
    fn bad_patterns_are_explained() {
        let bad = SearchQuery {
            pattern: "(".into(),
            regex: true,
            ignore_case: false,
        };
        assert!(
            bad.compile()
                .err()
                .unwrap()
                .contains("invalid regular expression")
        );
        let huge = SearchQuery {
            pattern: "\\w{1000}\\w{1000}\\w{1000}".into(),
            regex: true,
            ignore_case: false,
        };
        assert!(huge.compile().err().unwrap().contains("too large"));
        assert!(SearchQuery::literal("").compile().is_err());
    }
}

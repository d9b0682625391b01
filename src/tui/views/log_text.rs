//! A log line cut for the screen: highlighted search matches as pieces,
//! horizontal scroll and wrap at word boundaries (by characters only where
//! a word is longer than a row). Works on the already
//! inert `DisplayLine.text`; styles only, never escape codes.

use std::ops::Range;

/// A run of characters, highlighted or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    pub text: String,
    pub hit: bool,
}

/// Each character of `text` with whether a match covers it. Ranges that do
/// not fall on character boundaries are ignored.
fn marked(text: &str, matches: &[Range<usize>]) -> Vec<(char, bool)> {
    let usable: Vec<&Range<usize>> = matches
        .iter()
        .filter(|r| {
            r.start < r.end && text.is_char_boundary(r.start) && text.is_char_boundary(r.end)
        })
        .collect();
    text.char_indices()
        .map(|(i, c)| (c, usable.iter().any(|r| r.contains(&i))))
        .collect()
}

/// Groups consecutive characters with the same mark.
fn pieces(chars: &[(char, bool)]) -> Vec<Piece> {
    let mut out: Vec<Piece> = Vec::new();
    for &(c, hit) in chars {
        match out.last_mut() {
            Some(p) if p.hit == hit => p.text.push(c),
            _ => out.push(Piece {
                text: c.to_string(),
                hit,
            }),
        }
    }
    out
}

/// The line from character `skip` on, at most `width` characters.
pub fn cut(text: &str, matches: &[Range<usize>], skip: usize, width: usize) -> Vec<Piece> {
    let chars = marked(text, matches);
    let from = skip.min(chars.len());
    let to = from.saturating_add(width).min(chars.len());
    pieces(&chars[from..to])
}

/// Where the rows of a wrapped line start and end (character indices): a
/// row ends after its last space when the next word would not fit, and is
/// cut hard only where one word is wider than a row. Every character is in
/// exactly one row.
fn rows(chars: &[char], width: usize) -> Vec<Range<usize>> {
    let width = width.max(1);
    let mut out = Vec::new();
    let mut start = 0;
    while chars.len() - start > width {
        let end = start + width;
        // A break after a space within the row; the space stays on it.
        let at_space = chars[end] == ' ';
        let end = if at_space {
            end
        } else {
            chars[start + 1..end]
                .iter()
                .rposition(|c| *c == ' ')
                .map_or(end, |i| start + 1 + i + 1)
        };
        out.push(start..end);
        start = end;
    }
    out.push(start..chars.len());
    out
}

/// The line in rows of at most `width` characters (at least one row).
pub fn wrap(text: &str, matches: &[Range<usize>], width: usize) -> Vec<Vec<Piece>> {
    let marked = marked(text, matches);
    if marked.is_empty() {
        return vec![Vec::new()];
    }
    let chars: Vec<char> = marked.iter().map(|(c, _)| *c).collect();
    rows(&chars, width)
        .into_iter()
        .map(|r| pieces(&marked[r]))
        .collect()
}

/// Screen rows a line takes when wrapped at `width`.
pub fn wrapped_height(text: &str, width: usize) -> usize {
    let chars: Vec<char> = text.chars().collect();
    rows(&chars, width).len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(pieces: &[Piece]) -> String {
        pieces
            .iter()
            .map(|p| {
                if p.hit {
                    format!("[{}]", p.text)
                } else {
                    p.text.clone()
                }
            })
            .collect()
    }

    #[test]
    fn matches_are_marked_across_scroll_and_wrap() {
        let text = "job 7 started; job 8 queued";
        let m = vec![0..3, 15..18];
        assert_eq!(
            show(&cut(text, &m, 0, 100)),
            "[job] 7 started; [job] 8 queued"
        );
        assert_eq!(show(&cut(text, &m, 1, 10)), "[ob] 7 start");
        let rows: Vec<String> = wrap(text, &m, 10).iter().map(|r| show(r)).collect();
        assert_eq!(rows, ["[job] 7 ", "started; ", "[job] 8 ", "queued"]);
    }

    #[test]
    fn wrap_breaks_at_word_boundaries_and_cuts_only_words_wider_than_a_row() {
        let text = "attempt failed: cannot connect to http://127.0.0.1:9/api/system/info now";
        let rows: Vec<String> = wrap(text, &[], 20).iter().map(|r| show(r)).collect();
        assert_eq!(
            rows,
            [
                "attempt failed: ",
                "cannot connect to ",
                "http://127.0.0.1:9/a",
                "pi/system/info now"
            ]
        );
        // Nothing is lost or repeated, no row is too wide, and the height
        // the viewer scrolls by is the rows drawn.
        assert_eq!(rows.concat(), text);
        assert!(rows.iter().all(|r| r.chars().count() <= 20));
        assert_eq!(wrapped_height(text, 20), rows.len());
    }

    #[test]
    fn bad_ranges_and_wide_text_are_safe() {
        let text = "é\\u{1b}[31m";
        assert_eq!(
            show(&cut(
                text,
                &[1..2, Range { start: 5, end: 3 }, 40..50],
                0,
                100
            )),
            text
        );
        assert_eq!(wrap("", &[], 10).len(), 1);
        assert_eq!(wrapped_height("abcdefghijk", 5), 3);
        assert!(cut(text, &[], 100, 10).is_empty());
    }
}

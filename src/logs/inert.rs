//! Log bytes made safe to draw: invalid UTF-8 replaced, tabs expanded, and
//! every other control character (ESC, OSC, CR, BEL, C1, bidi overrides)
//! shown as visible escaped text, so nothing in a log line can drive the
//! terminal (CWE-150). Used by the CLI and by the console view alike.

/// Tab stops every 8 columns.
const TAB: usize = 8;

/// One displayable line (no trailing newline), at most `max_chars`
/// characters of the source; `…` marks a cut.
pub fn display_line(bytes: &[u8], max_chars: usize) -> String {
    let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
    let text = String::from_utf8_lossy(bytes);
    let mut out = String::with_capacity(text.len().min(max_chars) + 8);
    // Source characters still allowed, and the screen column reached.
    let (mut left, mut col) = (max_chars, 0usize);
    // Between tabs, `crate::text::sanitize` escapes and cuts (with `…`).
    for (i, segment) in text.split('\t').enumerate() {
        if i > 0 {
            if left == 0 {
                out.push('…');
                break;
            }
            left -= 1;
            let spaces = TAB - col % TAB;
            out.extend(std::iter::repeat_n(' ', spaces));
            col += spaces;
        }
        let shown = crate::text::sanitize(segment, left);
        out.push_str(&shown);
        let chars = segment.chars().count();
        if chars > left {
            break;
        }
        left -= chars;
        col += shown.chars().count();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_become_visible_text() {
        let line = b"a\x1b[31mred\x1b]0;title\x07\x1b]8;;http://x\x1b\\link\r\n";
        let shown = display_line(line, 1000);
        assert_eq!(
            shown,
            "a\\u{1b}[31mred\\u{1b}]0;title\\u{7}\\u{1b}]8;;http://x\\u{1b}\\link"
        );
        assert!(!shown.chars().any(char::is_control));
    }

    #[test]
    fn tabs_expand_and_long_lines_are_cut() {
        assert_eq!(display_line(b"ab\tc", 100), "ab      c");
        assert_eq!(display_line(b"abcdef", 3), "abc…");
        assert_eq!(display_line(b"abc\tdef", 3), "abc…");
        assert_eq!(display_line(b"abc\tdef", 4), "abc     …");
        assert_eq!(display_line(b"\x1b\tx", 100), "\\u{1b}  x");
        assert_eq!(display_line(b"", 0), "");
        assert_eq!(
            display_line(b"\xff\xfeok\xe2\x80\xae", 100),
            "\u{fffd}\u{fffd}ok\\u{202e}"
        );
    }
}

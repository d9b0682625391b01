//! Copying to the operator's clipboard with OSC 52: the terminal (or tmux,
//! or the SSH client's terminal at the far end) puts the text on its own
//! clipboard, so it works over SSH with nothing installed on the server.

use base64::Engine;

/// The OSC 52 sequence that sets the clipboard to `text`. Control
/// characters are escaped first (`\u{1b}` as text), so what is pasted later
/// cannot drive a shell or a terminal either.
pub fn osc52(text: &str) -> String {
    let safe: String = text
        .lines()
        .map(crate::text::inert)
        .collect::<Vec<_>>()
        .join("\n");
    let encoded = base64::engine::general_purpose::STANDARD.encode(safe.as_bytes());
    format!("\u{1b}]52;c;{encoded}\u{7}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_travels_base64_encoded_with_control_characters_made_inert() {
        let seq = osc52("error: refused\nport 9\u{1b}[2J");
        let body = seq
            .strip_prefix("\u{1b}]52;c;")
            .and_then(|s| s.strip_suffix('\u{7}'))
            .expect("an OSC 52 sequence");
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(body)
            .expect("base64");
        assert_eq!(
            String::from_utf8(decoded).expect("utf-8"),
            "error: refused\nport 9\\u{1b}[2J"
        );
    }
}

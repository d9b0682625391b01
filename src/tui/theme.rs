//! Colours and symbols. Only the 16 ANSI colours (the terminal's own palette,
//! so light and dark schemes both work), never RGB; no state is told by red
//! against green alone (every badge also has a word). `NO_COLOR` or
//! `--no-color` leaves only bold/reverse; `--ascii` replaces every non-ASCII
//! symbol for terminals and fonts without them.

use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    pub color: bool,
    pub ascii: bool,
}

impl Theme {
    /// Colour unless `NO_COLOR` is set (https://no-color.org).
    pub fn from_env(no_color: bool, ascii: bool) -> Self {
        Theme {
            color: !no_color && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
            ascii,
        }
    }

    fn fg(&self, c: Color) -> Style {
        if self.color {
            Style::default().fg(c)
        } else {
            Style::default()
        }
    }

    pub fn title(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    pub fn header(&self) -> Style {
        Style::default().add_modifier(Modifier::BOLD)
    }

    pub fn dim(&self) -> Style {
        if self.color {
            Style::default().fg(Color::DarkGray)
        } else {
            Style::default()
        }
    }

    pub fn ok(&self) -> Style {
        self.fg(Color::Green)
    }

    pub fn warn(&self) -> Style {
        self.fg(Color::Yellow)
    }

    pub fn error(&self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }

    pub fn info(&self) -> Style {
        self.fg(Color::Blue)
    }

    /// A search match inside a log line.
    pub fn highlight(&self) -> Style {
        if self.color {
            Style::default()
                .fg(Color::Black)
                .bg(Color::Yellow)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::default().add_modifier(Modifier::REVERSED | Modifier::BOLD)
        }
    }

    pub fn key(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    /// The row under the cursor: reverse video reads on every palette.
    pub fn selected(&self) -> Style {
        Style::default().add_modifier(Modifier::REVERSED)
    }

    /// The border of the pane that has the keys.
    pub fn focus(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    pub fn gauge(&self) -> Style {
        self.fg(Color::Green)
    }

    pub fn border_set(&self) -> symbols::border::Set<'static> {
        if self.ascii {
            symbols::border::Set {
                top_left: "+",
                top_right: "+",
                bottom_left: "+",
                bottom_right: "+",
                vertical_left: "|",
                vertical_right: "|",
                horizontal_top: "-",
                horizontal_bottom: "-",
            }
        } else {
            symbols::border::PLAIN
        }
    }

    pub fn bar_set(&self) -> symbols::bar::Set<'static> {
        if self.ascii {
            symbols::bar::Set {
                full: "#",
                seven_eighths: "#",
                three_quarters: "=",
                five_eighths: "=",
                half: "-",
                three_eighths: "-",
                one_quarter: ".",
                one_eighth: ".",
                empty: " ",
            }
        } else {
            symbols::bar::NINE_LEVELS
        }
    }

    /// `[#####.....]`-style gauge text of `width` cells for `ratio` in 0..=1.
    pub fn gauge_text(&self, ratio: f64, width: usize) -> (String, String) {
        let ratio = if ratio.is_finite() {
            ratio.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let filled = ((ratio * width as f64).round() as usize).min(width);
        let (full, empty) = if self.ascii {
            ("#", ".")
        } else {
            ("█", "░")
        };
        (full.repeat(filled), empty.repeat(width - filled))
    }

    pub fn arrow(&self) -> &'static str {
        if self.ascii { "->" } else { "→" }
    }

    pub fn cursor(&self) -> &'static str {
        if self.ascii { ">" } else { "▶" }
    }

    /// Before a count or level that is a lower bound.
    pub fn at_least(&self) -> &'static str {
        if self.ascii { ">=" } else { "≥" }
    }

    pub fn caret(&self) -> &'static str {
        if self.ascii { "_" } else { "▏" }
    }

    /// Between the parts of one value: `8,197 synced · 3 rejected`.
    pub fn dot(&self) -> &'static str {
        if self.ascii { "," } else { "·" }
    }

    pub fn separator(&self) -> &'static str {
        if self.ascii { "|" } else { "│" }
    }
}

//! The detail lines of an `http_pull` config: its last pull, the hashes on
//! both sides, the local copy and its last change.

use ratatui::text::{Line, Span};

use super::widgets::inert;
use crate::engine::PullStatus;
use crate::text::relative_column;
use crate::tui::theme::Theme;

fn short(hash: &Option<String>) -> String {
    hash.as_deref()
        .map_or_else(|| "-".into(), |h| inert(h.get(..12).unwrap_or(h), 12))
}

pub fn lines(theme: &Theme, pull: &PullStatus, now: i64) -> Vec<Line<'static>> {
    let s = &pull.state;
    let mut first = match (s.last_sync_at, s.last_sync_ok) {
        (None, _) => vec![Span::styled("Not pulled yet", theme.dim())],
        (Some(at), Some(true)) => vec![
            Span::styled("Pull OK", theme.ok()),
            Span::raw(format!(" {}", relative_column(at, now))),
        ],
        (Some(at), _) => vec![
            Span::styled(
                format!("Pull failed ({} in a row)", s.failures.max(1)),
                theme.error(),
            ),
            Span::raw(format!(" {}", relative_column(at, now))),
        ],
    };
    if let (Some(n), Some(kind)) = (s.items, &s.items_kind) {
        first.push(Span::raw(format!(" · {n} {}", inert(kind, 10))));
    }
    if let Some(at) = s.config_updated_at {
        first.push(Span::raw(format!(
            " · changed {}",
            relative_column(at, now)
        )));
    }
    let differs = s.backend_hash.is_some() && s.backend_hash != s.current_hash;
    let hashes = if differs {
        vec![
            Span::styled("hash ", theme.dim()),
            Span::raw(short(&s.current_hash)),
            Span::styled(" · backend has ", theme.dim()),
            Span::styled(short(&s.backend_hash), theme.warn()),
        ]
    } else {
        vec![
            Span::styled("hash ", theme.dim()),
            Span::raw(short(&s.current_hash)),
            Span::styled(
                if s.backend_hash.is_some() {
                    " · same at the backend"
                } else {
                    ""
                },
                theme.dim(),
            ),
        ]
    };
    let mut out = vec![
        Line::from(first),
        Line::from(hashes),
        Line::from(vec![
            Span::styled("into ", theme.dim()),
            Span::raw(inert(&pull.target, 200)),
        ]),
    ];
    if let Some(e) = &s.last_sync_error {
        out.push(Line::from(vec![
            Span::styled("Last error: ", theme.error()),
            Span::raw(inert(e, 300)),
        ]));
    }
    out
}

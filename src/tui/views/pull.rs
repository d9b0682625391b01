//! The detail lines of an `http_pull` config: its last pull, the hashes on
//! both sides, the local copy and its last change.

use ratatui::text::{Line, Span};

use super::widgets::inert;
use crate::engine::PullStatus;
use crate::text::relative_narrow;
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
            Span::raw(format!(" {}", relative_narrow(at, now))),
        ],
        (Some(at), _) => vec![
            Span::styled(
                format!("Pull failed ({} in a row)", s.failures.max(1)),
                theme.error(),
            ),
            Span::raw(format!(" {}", relative_narrow(at, now))),
        ],
    };
    if let (Some(n), Some(kind)) = (s.items, &s.items_kind) {
        first.push(Span::raw(format!(" · {n} {}", inert(kind, 10))));
    }
    if let Some(at) = s.config_updated_at {
        first.push(Span::raw(format!(
            " · changed {}",
            relative_narrow(at, now)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::pull::PullState;

    fn text(lines: &[Line<'_>]) -> Vec<String> {
        lines
            .iter()
            .map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect())
            .collect()
    }

    #[test]
    fn a_pull_says_how_it_went_and_whether_the_backend_has_news() {
        let theme = Theme::from_env(true, false);
        let now = 1_000_000;
        let mut status = PullStatus {
            target: "/var/lib/agent/site.json".into(),
            interval_s: 300,
            state: PullState {
                last_sync_at: Some(now - 8_000),
                last_sync_ok: Some(true),
                current_hash: Some("d35318b5763e2bdbecabddf0ff5784c5".into()),
                backend_hash: Some("d35318b5763e2bdbecabddf0ff5784c5".into()),
                config_updated_at: Some(now - 120_000),
                items: Some(3),
                items_kind: Some("devices".into()),
                ..PullState::default()
            },
        };
        let ok = text(&lines(&theme, &status, now));
        assert_eq!(ok[0], "Pull OK 8s ago · 3 devices · changed 2m ago");
        assert_eq!(ok[1], "hash d35318b5763e · same at the backend");
        assert_eq!(ok[2], "into /var/lib/agent/site.json");
        status.state.last_sync_ok = Some(false);
        status.state.failures = 2;
        status.state.backend_hash = Some("f03257ff5b8653cb2b7cc3f114e9069c".into());
        status.state.last_sync_error = Some("cannot reach http://b/config/{token}\u{1b}[2J".into());
        let failed = text(&lines(&theme, &status, now));
        assert_eq!(
            failed[0],
            "Pull failed (2 in a row) 8s ago · 3 devices · changed 2m ago"
        );
        assert_eq!(failed[1], "hash d35318b5763e · backend has f03257ff5b86");
        assert!(
            failed[3].starts_with("Last error: cannot reach"),
            "{failed:?}"
        );
        assert!(!failed[3].contains('\u{1b}'), "shown inert");
    }
}

//! Tables laid out from their content: each column is as wide as its widest
//! value (or header); when the area is too narrow, whole columns are left
//! out by priority, so a value is never cut in the middle. Only a column
//! that says it may shrink (a gauge, an error message) gets narrower, and
//! text cut there ends in `…`.

use ratatui::layout::Constraint;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Row, Table};

use crate::tui::theme::Theme;

/// What a column holds: text, or gauges drawn at the width it gets.
pub enum Content<'a> {
    Text(Vec<Line<'a>>),
    /// Ratios (0..=1) drawn as bars.
    Bars(Vec<f64>),
}

pub struct Column<'a> {
    pub header: &'a str,
    pub content: Content<'a>,
    /// 0: always shown; higher numbers are left out first.
    pub priority: u8,
    /// The narrowest the column may get (text is cut with `…` below its
    /// natural width); `None`: shown whole or not at all.
    pub min: Option<u16>,
    /// The widest it may get (a bar's natural width).
    pub max: Option<u16>,
    /// Takes the width left over.
    pub fill: bool,
}

impl<'a> Column<'a> {
    pub fn text(header: &'a str, priority: u8, cells: Vec<Line<'a>>) -> Self {
        Column {
            header,
            content: Content::Text(cells),
            priority,
            min: None,
            max: None,
            fill: false,
        }
    }

    pub fn bars(header: &'a str, priority: u8, ratios: Vec<f64>, min: u16, max: u16) -> Self {
        Column {
            header,
            content: Content::Bars(ratios),
            priority,
            min: Some(min),
            max: Some(max),
            fill: false,
        }
    }

    /// May shrink to `min` cells (cut with `…`) and takes what is left over.
    pub fn shrinking_fill(mut self, min: u16) -> Self {
        self.min = Some(min);
        self.fill = true;
        self
    }

    fn natural(&self) -> u16 {
        let header = self.header.chars().count() as u16;
        let content = match &self.content {
            Content::Text(cells) => cells.iter().map(|l| l.width() as u16).max().unwrap_or(0),
            Content::Bars(_) => self.max.unwrap_or(10),
        };
        let natural = header.max(content);
        self.max.map_or(natural, |m| natural.min(m))
    }
}

/// Width of each column, `None` for a column left out: the layout
/// [`table`] uses, exposed for tests and for panes that size themselves.
pub fn fit(columns: &[Column], available: u16, spacing: u16) -> Vec<Option<u16>> {
    let natural: Vec<u16> = columns.iter().map(Column::natural).collect();
    let min: Vec<u16> = columns
        .iter()
        .zip(&natural)
        // A header is never cut: the narrowest a column gets is its header.
        .map(|(c, n)| {
            c.min
                .map_or(*n, |m| m.max(c.header.chars().count() as u16).min(*n))
        })
        .collect();
    // Columns are taken most important first (priority, then leftmost), each
    // if it still fits at its narrowest; required ones always. A less
    // important column may so fill a gap a wider, more important one left.
    let mut by_importance: Vec<usize> = (0..columns.len()).collect();
    by_importance.sort_by_key(|i| (columns[*i].priority, *i));
    let mut kept = vec![false; columns.len()];
    let mut used: i64 = 0;
    for i in &by_importance {
        let add = i64::from(min[*i]) + if used > 0 { i64::from(spacing) } else { 0 };
        if columns[*i].priority == 0 || used + add <= i64::from(available) {
            kept[*i] = true;
            used += add;
        }
    }
    let need = |kept: &[bool], widths: &[u16]| -> u32 {
        let n = kept.iter().filter(|k| **k).count() as u32;
        let sum: u32 = (0..kept.len())
            .filter(|i| kept[*i])
            .map(|i| u32::from(widths[i]))
            .sum();
        sum + n.saturating_sub(1) * u32::from(spacing)
    };
    // Start from the minimum and give the rest back, most important first.
    let mut widths = min.clone();
    let mut spare = i64::from(available) - i64::from(need(&kept, &min));
    for i in by_importance.iter().filter(|i| kept[**i]) {
        if spare <= 0 {
            break;
        }
        let grow = (i64::from(natural[*i]) - i64::from(widths[*i])).min(spare);
        widths[*i] += grow as u16;
        spare -= grow;
    }
    if spare > 0
        && let Some(i) = (0..columns.len()).find(|i| kept[*i] && columns[*i].fill)
    {
        widths[i] += spare as u16;
    }
    if spare < 0 {
        // Nothing left to drop: the shrinkable columns give up the rest, and
        // as a last resort (a terminal below the sizes we lay out for) the
        // widest required one does.
        let mut over = (-spare) as u16;
        while over > 0 {
            let Some(i) = (0..columns.len())
                .filter(|i| kept[*i] && widths[*i] > 1)
                .max_by_key(|i| widths[*i])
            else {
                break;
            };
            widths[i] -= 1;
            over -= 1;
        }
    }
    (0..columns.len())
        .map(|i| kept[i].then_some(widths[i]))
        .collect()
}

/// `line` cut to `width` cells, ending in `…` when something was cut.
pub fn cut(line: Line<'_>, width: u16) -> Line<'_> {
    let width = usize::from(width);
    if line.width() <= width {
        return line;
    }
    let style = line.style;
    let mut left = width.saturating_sub(1);
    let mut spans = Vec::new();
    for span in line.spans {
        if left == 0 {
            break;
        }
        let text: String = span
            .content
            .chars()
            .scan(0usize, |used, c| {
                let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
                *used += w;
                (*used <= left).then_some(c)
            })
            .collect();
        let w = unicode_width::UnicodeWidthStr::width(text.as_str());
        left -= w.min(left);
        spans.push(Span::styled(text, span.style));
    }
    spans.push(Span::raw("…"));
    Line::from(spans).style(style)
}

/// The table of the kept columns, each at its fitted width, with one style
/// per row (selection, state).
pub fn table<'a>(
    theme: &Theme,
    columns: Vec<Column<'a>>,
    row_styles: &[Style],
    width: u16,
    spacing: u16,
) -> Table<'a> {
    let widths = fit(&columns, width, spacing);
    let rows = row_styles.len();
    let mut header = Vec::new();
    let mut constraints = Vec::new();
    let mut cells: Vec<Vec<Cell<'a>>> = (0..rows).map(|_| Vec::new()).collect();
    for (column, w) in columns.into_iter().zip(widths) {
        let Some(w) = w else { continue };
        constraints.push(Constraint::Length(w));
        header.push(Cell::from(cut(Line::from(column.header), w)));
        match column.content {
            Content::Text(lines) => {
                for (row, line) in cells.iter_mut().zip(lines) {
                    row.push(Cell::from(cut(line, w)));
                }
            }
            Content::Bars(ratios) => {
                for (row, ratio) in cells.iter_mut().zip(ratios) {
                    let (full, empty) = theme.gauge_text(ratio, usize::from(w));
                    row.push(Cell::from(Line::from(vec![
                        Span::styled(full, theme.gauge()),
                        Span::styled(empty, theme.dim()),
                    ])));
                }
            }
        }
    }
    let rows: Vec<Row> = cells
        .into_iter()
        .zip(row_styles)
        .map(|(c, s)| Row::new(c).style(*s))
        .collect();
    Table::new(rows, constraints)
        .header(Row::new(header).style(theme.dim()))
        .column_spacing(spacing)
}

/// The width the columns want without cuts (for panes sized by content).
pub fn natural_width(columns: &[Column], spacing: u16, required_only: bool) -> u16 {
    let kept: Vec<u16> = columns
        .iter()
        .filter(|c| !required_only || c.priority == 0)
        .map(|c| {
            c.min
                .filter(|_| required_only)
                .unwrap_or_else(|| c.natural())
        })
        .collect();
    kept.iter().sum::<u16>() + (kept.len().saturating_sub(1) as u16) * spacing
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(header: &'static str, priority: u8, width: usize) -> Column<'static> {
        Column::text(header, priority, vec![Line::from("x".repeat(width))])
    }

    #[test]
    fn columns_are_as_wide_as_their_content_and_drop_by_priority() {
        let cols = vec![col("a", 0, 10), col("b", 2, 5), col("c", 1, 8)];
        assert_eq!(fit(&cols, 40, 1), vec![Some(10), Some(5), Some(8)]);
        // 25 wide: b (priority 2) goes first, whole.
        assert_eq!(fit(&cols, 20, 1), vec![Some(10), None, Some(8)]);
        assert_eq!(fit(&cols, 12, 1), vec![Some(10), None, None]);
    }

    #[test]
    fn a_shrinking_column_gets_narrower_before_any_is_dropped_and_fill_takes_the_rest() {
        let cols = vec![
            col("name", 0, 10),
            Column::bars("bar", 3, vec![0.5], 4, 20),
            col("error", 1, 50).shrinking_fill(8),
        ];
        assert_eq!(fit(&cols, 100, 1), vec![Some(10), Some(20), Some(68)]);
        assert_eq!(fit(&cols, 30, 1), vec![Some(10), Some(4), Some(14)]);
        assert_eq!(fit(&cols, 20, 1), vec![Some(10), None, Some(9)]);
    }

    #[test]
    fn cut_text_ends_in_an_ellipsis() {
        assert_eq!(cut(Line::from("abcdef"), 4).to_string(), "abc…");
        assert_eq!(cut(Line::from("abc"), 4).to_string(), "abc");
    }
}

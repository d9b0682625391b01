//! A list with a cursor and a `/` filter: the state every list view keeps.

/// A list with a cursor and a `/` filter.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListState {
    pub cursor: usize,
    pub filter: String,
    /// The id of the item under the cursor: the selection follows it when
    /// rows come and go (reloads, filters), not the row number.
    pub selected: Option<i64>,
    /// Which of the view's orders the list is in (0: as loaded).
    pub sort: usize,
}

impl ListState {
    /// Puts the cursor back on the selected item among `ids` (the visible
    /// rows), else keeps it in range; then remembers what it is on.
    pub fn follow(&mut self, ids: &[i64]) {
        if let Some(at) = self
            .selected
            .and_then(|id| ids.iter().position(|i| *i == id))
        {
            self.cursor = at;
        }
        clamp(&mut self.cursor, ids.len());
        self.remember(ids);
    }

    /// Remembers the item under the cursor (after the cursor moved).
    pub fn remember(&mut self, ids: &[i64]) {
        self.selected = ids.get(self.cursor).copied().or(self.selected);
    }
}

/// Keeps a cursor inside a list of `len` items.
pub fn clamp(cursor: &mut usize, len: usize) {
    if *cursor >= len {
        *cursor = len.saturating_sub(1);
    }
}

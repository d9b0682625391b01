//! A list with a cursor and a `/` filter: the state every list view keeps.

/// A list with a cursor and a `/` filter.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListState {
    pub cursor: usize,
    pub filter: String,
}

/// Keeps a cursor inside a list of `len` items.
pub fn clamp(cursor: &mut usize, len: usize) {
    if *cursor >= len {
        *cursor = len.saturating_sub(1);
    }
}

//! Moving a list cursor and the log tail: the movement keys every view's
//! handler shares.

use super::keymap::Action;
use super::model::Model;

/// Moves a list cursor; returns whether the action was a movement.
pub fn move_cursor(cursor: &mut usize, len: usize, action: Action) -> bool {
    const PAGE: usize = 10;
    let last = len.saturating_sub(1);
    *cursor = match action {
        Action::Up => cursor.saturating_sub(1),
        Action::Down => (*cursor + 1).min(last),
        Action::PageUp => cursor.saturating_sub(PAGE),
        Action::PageDown => (*cursor + PAGE).min(last),
        Action::Top => 0,
        Action::Bottom => last,
        _ => return false,
    };
    true
}

/// Up/Down in the tail scroll back (and pause following); Bottom follows.
pub fn scroll_tail(model: &mut Model, action: Action, page: usize) {
    let t = &mut model.tail_view;
    match action {
        Action::Up => t.back += 1,
        Action::PageUp => t.back += page,
        Action::Down => t.back = t.back.saturating_sub(1),
        Action::PageDown => t.back = t.back.saturating_sub(page),
        Action::Top => t.back = usize::MAX / 2,
        Action::Bottom => t.back = 0,
        _ => return,
    }
    let (_, total) = model.tail.window(t.min_level, &t.filter, 0, 0);
    t.back = t.back.min(total.saturating_sub(1));
    t.follow = t.back == 0;
}

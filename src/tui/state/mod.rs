//! Each view's own state, as plain data: the bottom of the console. The
//! model composes these; the handlers in `update` change them and `views`
//! draws them. Nothing here names the model, a handler or a view.

pub mod dashboard;
pub mod detections;
pub mod jobs;
pub mod logview;
pub mod settings;

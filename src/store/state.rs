//! Watermarks, lifecycle state and detection history.

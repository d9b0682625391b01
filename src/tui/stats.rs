//! Figures about the console's own cost, written with `--stats FILE` when
//! it quits (the console benchmark reads them).

use std::time::Duration;

use serde::{Deserialize, Serialize};

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct FrameStats {
    pub frames: u64,
    /// Bytes written to the terminal.
    pub bytes: u64,
    /// Bytes read from a remote engine's link (0 for a local engine).
    #[serde(default)]
    pub received: u64,
    /// Time spent drawing (layout, widgets, diff, write), in µs.
    pub draw_us: Vec<u64>,
    /// From the first change not yet on screen to the end of the frame
    /// showing it, in µs.
    pub latency_us: Vec<u64>,
}

impl FrameStats {
    pub fn frame(&mut self, draw: Duration, latency: Option<Duration>) {
        self.frames += 1;
        // Bounded: a day at 20 fps would be 1.7 M samples.
        if self.draw_us.len() < 100_000 {
            self.draw_us.push(draw.as_micros() as u64);
            if let Some(l) = latency {
                self.latency_us.push(l.as_micros() as u64);
            }
        }
    }
}

//! The real terminal: raw mode and the alternate screen on the way in, the
//! same undone on every way out (quit, error, panic, signal, lost link);
//! frames go through one big buffer inside a synchronized update, so a slow
//! SSH link never shows half a frame.

use std::io::{self, BufWriter, Stdout, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crossterm::terminal::{
    BeginSynchronizedUpdate, EndSynchronizedUpdate, EnterAlternateScreen, LeaveAlternateScreen,
    disable_raw_mode, enable_raw_mode,
};
use crossterm::{cursor, execute, queue};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

/// Counts the bytes sent to the terminal (for `--stats` and the benchmark).
pub struct CountingWriter<W> {
    inner: W,
    pub written: Arc<AtomicU64>,
}

impl<W: Write> Write for CountingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.written.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

pub type Backend = CrosstermBackend<CountingWriter<BufWriter<Stdout>>>;

/// A frame is a few KB at most; one write per frame.
const OUTPUT_BUFFER: usize = 64 * 1024;

/// Puts the terminal back as it was. Safe to call more than once.
pub fn restore() {
    let _ = disable_raw_mode();
    let mut out = io::stdout();
    let _ = execute!(
        out,
        EndSynchronizedUpdate,
        LeaveAlternateScreen,
        cursor::Show
    );
}

/// Owns the terminal while the console runs; dropping it restores it.
pub struct Tui {
    pub terminal: Terminal<Backend>,
    pub written: Arc<AtomicU64>,
}

impl Tui {
    pub fn enter() -> anyhow::Result<Tui> {
        use std::io::IsTerminal;
        if !io::stdout().is_terminal() || !io::stdin().is_terminal() {
            anyhow::bail!(
                "the console needs a terminal; run the daemon with `syncdeck daemon`, or try `syncdeck demo --headless`"
            );
        }
        install_panic_hook();
        enable_raw_mode()
            .map_err(|e| anyhow::anyhow!("cannot switch the terminal to raw mode: {e}"))?;
        let written = Arc::new(AtomicU64::new(0));
        let writer = CountingWriter {
            inner: BufWriter::with_capacity(OUTPUT_BUFFER, io::stdout()),
            written: written.clone(),
        };
        let mut backend = CrosstermBackend::new(writer);
        // Mouse capture stays off: it would break the terminal's own copy.
        if let Err(e) = execute!(backend, EnterAlternateScreen, cursor::Hide) {
            restore();
            anyhow::bail!("cannot open the alternate screen: {e}");
        }
        let mut terminal = match Terminal::new(backend) {
            Ok(t) => t,
            Err(e) => {
                restore();
                anyhow::bail!("cannot set up the terminal: {e}");
            }
        };
        // Some terminals keep the old screen in the alternate one.
        let _ = terminal.clear();
        Ok(Tui { terminal, written })
    }

    /// Draws one frame inside a synchronized update.
    pub fn frame(&mut self, draw: impl FnOnce(&mut ratatui::Frame)) -> io::Result<()> {
        queue!(self.terminal.backend_mut(), BeginSynchronizedUpdate)?;
        self.terminal.draw(draw)?;
        execute!(self.terminal.backend_mut(), EndSynchronizedUpdate)?;
        Ok(())
    }

    /// Puts `text` on the terminal's clipboard (OSC 52), between frames.
    pub fn copy(&mut self, text: &str) -> io::Result<()> {
        let out = self.terminal.backend_mut();
        out.write_all(super::clipboard::osc52(text).as_bytes())?;
        out.flush()
    }

    /// Forgets what is on screen and paints everything (Ctrl-L, resize).
    pub fn repaint(&mut self) -> io::Result<()> {
        self.terminal.clear()
    }
}

impl Drop for Tui {
    fn drop(&mut self) {
        let _ = self.terminal.backend_mut().flush();
        restore();
    }
}

/// A panic restores the terminal before the message is printed, so the
/// operator's shell is usable and the message readable.
fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        previous(info);
    }));
}

//! In-process retries of one request: a page that failed is asked for again,
//! an import that failed is sent again (imports are upserts, so a repeat is
//! harmless). Only retryable errors are retried; the last one is returned so
//! the engine's queue can retry the whole job later.
//!
//! A timed-out request is asked for again at once (its deadline already
//! spaced the tries); other failures wait for the backoff or `Retry-After`.
//! Every retry is announced ("request to … timed out after 30 s, retrying
//! now (retry 1 of 4; …)") in the `sync_jobs` log and, while a resource
//! syncs, as its progress step (see [`announcing`]), so a hang is never silent.

use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};
use tokio::sync::mpsc;

use super::{ProgressSink, RetryPolicy};
use crate::connectors::dhis2::error::{Dhis2Error, Result};
use crate::connectors::dhis2::pager::{Page, Pager};

/// The resource being synced, and where its retries' notes go.
#[derive(Clone)]
struct Listener {
    resource: String,
    notes: mpsc::UnboundedSender<String>,
}

tokio::task_local! {
    static LISTENER: Listener;
}

/// One request's retry budget: [`Retry::next_page`] for pagers, and
/// `loop { match call().await { Ok(v) => break v, Err(e) => retry.wait(e).await? } }`
/// for single calls.
pub(crate) struct Retry {
    backoff: ExponentialBackoff,
    builder: ExponentialBuilder,
    /// Retries since the last success, for the note.
    retries: usize,
    max_retries: usize,
}

impl Retry {
    pub fn new(policy: &RetryPolicy) -> Self {
        let builder = ExponentialBuilder::default()
            .with_min_delay(policy.min_delay)
            .with_max_delay(policy.max_delay)
            .with_max_times(policy.max_retries)
            .with_jitter();
        Retry {
            backoff: builder.build(),
            builder,
            retries: 0,
            max_retries: policy.max_retries,
        }
    }

    /// Sleeps before the next try, or gives the error back when it is not
    /// retryable (auth, bad request…) or the budget is spent.
    pub async fn wait(&mut self, err: Dhis2Error) -> Result<()> {
        if !err.is_retryable() {
            return Err(err);
        }
        let Some(delay) = self.backoff.next() else {
            return Err(err);
        };
        let delay = match &err {
            // The deadline already spaced the tries (one per deadline at most),
            // so a hung request is asked for again at once.
            Dhis2Error::Timeout { .. } => Duration::ZERO,
            _ => err.retry_after().unwrap_or(delay),
        };
        self.retries += 1;
        let note = err.retry_note(delay, self.retries, self.max_retries);
        let listener = LISTENER.try_with(Listener::clone).ok();
        match &listener {
            Some(l) => tracing::warn!(target: "sync_jobs", resource = %l.resource, "{note}"),
            None => tracing::warn!(target: "sync_jobs", "{note}"),
        }
        if let Some(l) = listener {
            // Nobody listening any more means the resource is over: nothing to show.
            let _ = l.notes.send(note);
            // Lets `announcing` show the note before the retry goes on, even
            // when it goes on at once.
            tokio::task::yield_now().await;
        }
        tokio::time::sleep(delay).await;
        Ok(())
    }

    /// The pager's next page, asking again for a page that failed; `None`
    /// after the last page. A success refreshes the budget.
    pub async fn next_page<T: serde::de::DeserializeOwned>(
        &mut self,
        pager: &mut Pager<T>,
    ) -> Result<Option<Page<T>>> {
        loop {
            match pager.next_page().await {
                None => return Ok(None),
                Some(Ok(page)) => {
                    self.reset();
                    return Ok(Some(page));
                }
                Some(Err(e)) => self.wait(e).await?,
            }
        }
    }

    /// A fresh budget after a success, so a long resource with scattered
    /// failures is not doomed by its total count of them.
    pub fn reset(&mut self) {
        self.backoff = self.builder.build();
        self.retries = 0;
    }
}

/// Runs `work` (the sync of `resource`, reporting to `steps`) showing each
/// retry's note as the progress step at once, while the request is retried.
pub(crate) async fn announcing<F: Future>(
    resource: &str,
    steps: &NoteOverStep<'_>,
    work: F,
) -> F::Output {
    let (tx, mut notes) = mpsc::unbounded_channel();
    let listener = Listener {
        resource: resource.to_string(),
        notes: tx,
    };
    let work = LISTENER.scope(listener, work);
    tokio::pin!(work);
    loop {
        tokio::select! {
            biased;
            out = &mut work => return out,
            Some(note) = notes.recv() => steps.note(&note),
        }
    }
}

#[derive(Default)]
struct StepState {
    /// The last step the sync set.
    step: String,
    /// A retry note is showing instead.
    noted: bool,
}

/// A progress sink that can show a note over the current step; the step
/// comes back as soon as the resource makes progress again.
pub(crate) struct NoteOverStep<'a> {
    inner: &'a dyn ProgressSink,
    state: Mutex<StepState>,
}

impl<'a> NoteOverStep<'a> {
    pub fn new(inner: &'a dyn ProgressSink) -> Self {
        NoteOverStep {
            inner,
            state: Mutex::new(StepState::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, StepState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn note(&self, note: &str) {
        self.lock().noted = true;
        self.inner.step(note);
    }
}

impl ProgressSink for NoteOverStep<'_> {
    fn set_total(&self, total: u64) {
        self.inner.set_total(total);
    }

    fn add(&self, processed: u64, synced: u64, errors: u64) {
        let restore = {
            let mut s = self.lock();
            std::mem::take(&mut s.noted).then(|| s.step.clone())
        };
        if let Some(step) = restore {
            self.inner.step(&step);
        }
        self.inner.add(processed, synced, errors);
    }

    fn step(&self, step: &str) {
        {
            let mut s = self.lock();
            s.step = step.to_string();
            s.noted = false;
        }
        self.inner.step(step);
    }

    fn unchanged(&self, objects: u64) {
        self.inner.unchanged(objects);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn retries_transient_only_within_budget() {
        let policy = RetryPolicy {
            max_retries: 2,
            min_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(2),
        };
        let mut r = Retry::new(&policy);
        assert!(r.wait(Dhis2Error::transient("x")).await.is_ok());
        assert!(r.wait(Dhis2Error::transient("x")).await.is_ok());
        assert!(r.wait(Dhis2Error::transient("x")).await.is_err());
        r.reset();
        assert!(r.wait(Dhis2Error::transient("x")).await.is_ok());
        let auth = Dhis2Error::Auth {
            url: "u".into(),
            reason: "r".into(),
        };
        assert!(r.wait(auth).await.unwrap_err().is_auth());
    }

    #[derive(Default)]
    struct Recorded(Mutex<Vec<String>>);

    impl ProgressSink for Recorded {
        fn set_total(&self, _: u64) {}
        fn add(&self, _: u64, _: u64, _: u64) {}
        fn step(&self, step: &str) {
            self.0.lock().unwrap().push(step.to_string());
        }
        fn unchanged(&self, _: u64) {}
    }

    #[tokio::test]
    async fn a_retry_shows_its_note_as_the_step_until_progress_resumes() {
        let policy = RetryPolicy {
            max_retries: 3,
            min_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(2),
        };
        let recorded = Recorded::default();
        let steps = NoteOverStep::new(&recorded);
        announcing("dataValues:ds1", &steps, async {
            steps.step("page 1");
            let mut r = Retry::new(&policy);
            let hung = Dhis2Error::Timeout {
                url: "http://h/api/dataValueSets.json".into(),
                phase: crate::connectors::dhis2::TimeoutPhase::FirstByte,
                after: Duration::from_secs(60),
            };
            r.wait(hung).await.unwrap();
            steps.add(10, 10, 0);
            steps.add(10, 10, 0);
        })
        .await;
        let got = recorded.0.into_inner().unwrap();
        assert_eq!(got.len(), 3, "{got:?}");
        assert_eq!(got[0], "page 1");
        assert_eq!(
            got[1],
            "request to http://h/api/dataValueSets.json timed out after 60 s, retrying now \
             (retry 1 of 3; waiting for the response headers)"
        );
        assert_eq!(got[2], "page 1", "back once progress resumed");

        // Outside a resource (plan, counts) a retry is only logged.
        let mut r = Retry::new(&policy);
        assert!(r.wait(Dhis2Error::transient("x")).await.is_ok());
    }
}

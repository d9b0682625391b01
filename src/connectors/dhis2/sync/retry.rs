//! In-process retries of one request: a page that failed is asked for again,
//! an import that failed is sent again (imports are upserts, so a repeat is
//! harmless). Only retryable errors are retried; the last one is returned so
//! the engine's queue can retry the whole job later.

use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};

use super::RetryPolicy;
use crate::connectors::dhis2::error::{Dhis2Error, Result};
use crate::connectors::dhis2::pager::{Page, Pager};

/// One request's retry budget: [`Retry::next_page`] for pagers, and
/// `loop { match call().await { Ok(v) => break v, Err(e) => retry.wait(e).await? } }`
/// for single calls.
pub(crate) struct Retry {
    backoff: ExponentialBackoff,
    builder: ExponentialBuilder,
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
        let delay = err.retry_after().unwrap_or(delay);
        tracing::debug!(?delay, error = %err, "retrying");
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

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
}

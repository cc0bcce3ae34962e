//! The SDK's counters in a Workers Analytics Engine dataset: one data point per event
//! ([`Metric`]), picked up by [`web_api`](super::web_api) where the worker binds a dataset as
//! `IDENTITY_METRICS` ([`Bindings::metrics`](super::Bindings::metrics)).

use std::cell::Cell;
use std::rc::Rc;

use crate::event::{Metric, Metrics};
use crate::platform::Logger;

/// Writes every [`Metric`] to an Analytics Engine dataset. A write that fails is dropped (a
/// request never fails because a counter did) and said once in the log.
///
/// Each data point is, in Analytics Engine's own terms (its "Get started" and "Limits" pages):
///
/// | column | value |
/// |---|---|
/// | `index1` | the event (`request.refused`): the sampling key |
/// | `blob1` | the event |
/// | `blob2` | its outcome: the error's code, the cache tier, the status class, `verified_cache`, `ok` or `warn` |
/// | `blob3` | its dimension: the downstream API, the grant, the scheme, or empty |
/// | `double1` | 1 (a count: sum `_sample_interval * double1`) |
/// | `double2` | its duration in milliseconds |
///
/// Nothing else: no token, claim or correlation id reaches the dataset.
pub struct AnalyticsEngineMetrics {
    dataset: worker::AnalyticsEngineDataset,
    logger: Rc<dyn Logger>,
    failed: Cell<bool>,
}

impl AnalyticsEngineMetrics {
    /// Counters written to `dataset`; a failing write is said once to `logger`.
    pub fn new(dataset: worker::AnalyticsEngineDataset, logger: Rc<dyn Logger>) -> Self {
        AnalyticsEngineMetrics { dataset, logger, failed: Cell::new(false) }
    }
}

impl std::fmt::Debug for AnalyticsEngineMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnalyticsEngineMetrics").finish_non_exhaustive()
    }
}

impl Metrics for AnalyticsEngineMetrics {
    fn record(&self, metric: &Metric<'_>) {
        let written = worker::AnalyticsEngineDataPointBuilder::new()
            .indexes([metric.event])
            .add_blob(metric.event)
            .add_blob(&*metric.outcome)
            .add_blob(metric.dimension)
            .add_double(1.0)
            .add_double(metric.duration_ms)
            .write_to(&self.dataset);
        if written.is_err() && !self.failed.replace(true) {
            self.logger.warn(
                "writing to the Analytics Engine dataset failed; counters are dropped (said once)",
            );
        }
    }
}

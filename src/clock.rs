//! Where "now" comes from: the system clock, or a manual clock for tests and replays.

use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::fields::Timestamp;

/// A source of the current time.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current instant.
    fn now(&self) -> Timestamp;
}

/// The operating system's clock (the default).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_chrono(chrono::Utc::now()).unwrap_or(Timestamp::MAX)
    }
}

/// A clock that only moves when told to. Clones share one time, so a test can keep a clone
/// after handing one to [`Config::clock`](crate::Config::clock).
///
/// ```
/// use std::time::Duration;
/// use cee_eligibility::clock::{Clock, ManualClock};
/// let clock = ManualClock::new("2024-06-01T00:00:00Z".parse()?);
/// let shared = clock.clone();
/// clock.advance(Duration::from_secs(60));
/// assert_eq!(shared.now().to_string(), "2024-06-01T00:01:00.000Z");
/// # Ok::<(), cee_eligibility::FieldError>(())
/// ```
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    /// A clock stopped at `now`.
    pub fn new(now: Timestamp) -> Self {
        ManualClock(Arc::new(AtomicI64::new(now.as_millis())))
    }

    /// Moves the clock to `now` (backwards too).
    pub fn set(&self, now: Timestamp) {
        self.0.store(now.as_millis(), Ordering::SeqCst);
    }

    /// Moves the clock forward by `d` (millisecond precision, saturating at the latest
    /// representable instant).
    pub fn advance(&self, d: Duration) {
        let add = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        let _ = self
            .0
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |ms| {
                Some(ms.saturating_add(add).min(Timestamp::MAX.as_millis()))
            });
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_millis(self.0.load(Ordering::SeqCst)).unwrap_or(Timestamp::MAX)
    }
}

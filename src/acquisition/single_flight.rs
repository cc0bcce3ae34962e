//! Single flight: concurrent requests in one isolate that need the same token share one call to
//! the identity provider; the others wait for its outcome.
//!
//! How they wait depends on the host. Natively they await the shared future. On Workers a
//! request may not wait only on I/O another request started (workerd cancels it as hung, and
//! resolving its promise from the other request's context is refused), so joiners check the
//! shared outcome on their own timer instead ([`Join::Poll`]); if the request that started the
//! work goes away before finishing, or the work outlives the budget, a joiner starts its own.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::time::Duration;

use futures_util::future::{FutureExt as _, Shared};

use crate::platform::{millis, Clock, LocalFuture};

type Flight<T> = Shared<LocalFuture<'static, T>>;

/// How a request joins work another request started.
pub(crate) enum Join<'a> {
    /// Await the shared work (native hosts, Spin).
    Await,
    /// Look for its outcome every `interval` on `clock`, for at most `budget` (Workers).
    Poll { clock: &'a dyn Clock, interval: Duration, budget: Duration },
}

/// In-flight work by key.
pub(crate) struct SingleFlight<T: Clone> {
    flights: RefCell<HashMap<String, (u64, Flight<T>)>>,
    next_id: Cell<u64>,
}

/// Removes the owner's entry when its work ends or is dropped half-way.
struct Entry<'a, T: Clone> {
    flights: &'a RefCell<HashMap<String, (u64, Flight<T>)>>,
    key: &'a str,
    id: u64,
}

impl<T: Clone> Drop for Entry<'_, T> {
    fn drop(&mut self) {
        let mut flights = self.flights.borrow_mut();
        if flights.get(self.key).is_some_and(|(current, _)| *current == self.id) {
            flights.remove(self.key);
        }
    }
}

impl<T: Clone + 'static> Default for SingleFlight<T> {
    fn default() -> Self {
        SingleFlight { flights: RefCell::new(HashMap::new()), next_id: Cell::new(0) }
    }
}

impl<T: Clone + 'static> SingleFlight<T> {
    /// Whether work for `key` is under way.
    pub(crate) fn is_running(&self, key: &str) -> bool {
        self.flights.borrow().contains_key(key)
    }

    /// Joins the work under way for `key`, or starts it with `start`.
    pub(crate) async fn run(
        &self,
        key: &str,
        join: Join<'_>,
        start: impl FnOnce() -> LocalFuture<'static, T>,
    ) -> T {
        let existing = self.flights.borrow().get(key).cloned();
        let Some((id, flight)) = existing else {
            return self.own(key, start).await;
        };
        match join {
            Join::Await => {
                let outcome = flight.await;
                drop(Entry { flights: &self.flights, key, id });
                outcome
            }
            Join::Poll { clock, interval, budget } => {
                let since = clock.now_millis();
                let budget_ms = millis(budget);
                loop {
                    if let Some(outcome) = flight.peek() {
                        return outcome.clone();
                    }
                    let current = self.flights.borrow().get(key).is_some_and(|(c, _)| *c == id);
                    if !current || clock.now_millis().saturating_sub(since) > budget_ms {
                        break;
                    }
                    clock.sleep(interval).await;
                }
                self.own(key, start).await
            }
        }
    }

    async fn own(&self, key: &str, start: impl FnOnce() -> LocalFuture<'static, T>) -> T {
        let id = self.next_id.get() + 1;
        self.next_id.set(id);
        let flight = start().shared();
        self.flights.borrow_mut().insert(key.to_owned(), (id, flight.clone()));
        let _entry = Entry { flights: &self.flights, key, id };
        flight.await
    }
}

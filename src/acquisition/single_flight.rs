//! Single flight: concurrent requests in one isolate that need the same token share one call to
//! the identity provider; the others await its outcome.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use futures_util::future::{FutureExt as _, Shared};

use crate::platform::LocalFuture;

type Flight<T> = Shared<LocalFuture<'static, T>>;

/// In-flight work by key.
pub(crate) struct SingleFlight<T: Clone> {
    flights: RefCell<HashMap<String, (u64, Flight<T>)>>,
    next_id: Cell<u64>,
}

impl<T: Clone + 'static> SingleFlight<T> {
    pub(crate) fn new() -> Self {
        SingleFlight { flights: RefCell::new(HashMap::new()), next_id: Cell::new(0) }
    }

    /// Whether work for `key` is under way.
    pub(crate) fn is_running(&self, key: &str) -> bool {
        self.flights.borrow().contains_key(key)
    }

    /// Joins the work under way for `key`, or starts it with `start`.
    pub(crate) async fn run(
        &self,
        key: &str,
        start: impl FnOnce() -> LocalFuture<'static, T>,
    ) -> T {
        let (id, flight) = {
            let mut flights = self.flights.borrow_mut();
            match flights.get(key) {
                Some((id, flight)) => (*id, flight.clone()),
                None => {
                    let id = self.next_id.get() + 1;
                    self.next_id.set(id);
                    let flight = start().shared();
                    flights.insert(key.to_owned(), (id, flight.clone()));
                    (id, flight)
                }
            }
        };
        let outcome = flight.await;
        let mut flights = self.flights.borrow_mut();
        if flights.get(key).is_some_and(|(current, _)| *current == id) {
            flights.remove(key);
        }
        outcome
    }
}

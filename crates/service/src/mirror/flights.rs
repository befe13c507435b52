//! One upstream request per resource at a time: concurrent misses for one path wait for the
//! same fetch and share its outcome, success or failure.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;

use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};

type Flight<T> = Shared<BoxFuture<'static, T>>;

/// Fetches in flight, by path.
pub(crate) struct Flights<T: Clone> {
    running: Mutex<HashMap<String, Flight<T>>>,
}

impl<T: Clone> std::fmt::Debug for Flights<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Flights").field("running", &self.running.lock().map(|m| m.len()).unwrap_or(0)).finish()
    }
}

impl<T: Clone + Send + Sync + 'static> Flights<T> {
    pub(crate) fn new() -> Self {
        Flights { running: Mutex::new(HashMap::new()) }
    }

    /// Joins the flight for `key`, or starts `fetch` as one. The fetch runs as its own task:
    /// a caller that goes away (a client hanging up) does not cancel it for the others.
    pub(crate) async fn join<F>(&self, key: &str, fetch: impl FnOnce() -> F) -> T
    where
        F: Future<Output = T> + Send + 'static,
    {
        let flight = {
            let mut running = self.running.lock().expect("flights lock");
            match running.get(key) {
                Some(flight) => flight.clone(),
                None => {
                    let task = tokio::spawn(fetch());
                    let flight = async move {
                        match task.await {
                            Ok(out) => out,
                            // the task panicked: resume the panic in every waiter
                            Err(e) => std::panic::resume_unwind(e.into_panic()),
                        }
                    }
                    .boxed()
                    .shared();
                    running.insert(key.to_owned(), flight.clone());
                    flight
                }
            }
        };
        let out = flight.clone().await;
        let mut running = self.running.lock().expect("flights lock");
        if running.get(key).is_some_and(|current| current.ptr_eq(&flight)) {
            running.remove(key);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::Flights;

    #[tokio::test]
    async fn concurrent_joins_share_one_fetch() {
        let flights = Arc::new(Flights::<usize>::new());
        let started = Arc::new(AtomicUsize::new(0));
        let mut waiters = Vec::new();
        for _ in 0..50 {
            let (flights, started) = (flights.clone(), started.clone());
            waiters.push(tokio::spawn(async move {
                flights
                    .join("packages/a", || async move {
                        let n = started.fetch_add(1, Ordering::SeqCst) + 1;
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        n
                    })
                    .await
            }));
        }
        for waiter in waiters {
            assert_eq!(waiter.await.unwrap(), 1, "every waiter sees the first fetch");
        }
        assert_eq!(started.load(Ordering::SeqCst), 1);
        // the flight is over: the next join fetches again
        let next = flights.join("packages/a", || async { 7 }).await;
        assert_eq!(next, 7);
    }
}

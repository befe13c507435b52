//! One upstream request per resource at a time: concurrent misses for one path wait for the
//! same fetch and share its outcome, success or failure. A fetch runs as its own task, so a
//! caller that goes away (a client hanging up) cancels it for nobody, and the task takes its
//! entry out of the map when it ends, waited on or not.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};

use super::MirrorError;

type Outcome<T> = Result<T, MirrorError>;
type Flight<T> = Shared<BoxFuture<'static, Outcome<T>>>;

/// Fetches in flight, by path: a number telling flights apart, and the shared outcome.
type Running<T> = Mutex<HashMap<String, (u64, Flight<T>)>>;

pub(crate) struct Flights<T: Clone> {
    running: Arc<Running<T>>,
    next: AtomicU64,
}

impl<T: Clone> std::fmt::Debug for Flights<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Flights").field("running", &self.running.lock().map(|m| m.len()).unwrap_or(0)).finish()
    }
}

impl<T: Clone + Send + Sync + 'static> Flights<T> {
    pub(crate) fn new() -> Self {
        Flights { running: Arc::default(), next: AtomicU64::new(0) }
    }

    /// Joins the flight for `key`, or starts `fetch` as one.
    pub(crate) async fn join<F>(&self, key: &str, fetch: impl FnOnce() -> F) -> Outcome<T>
    where
        F: Future<Output = Outcome<T>> + Send + 'static,
    {
        let flight = {
            let mut running = self.running.lock().expect("flights lock");
            match running.get(key) {
                Some((_, flight)) => flight.clone(),
                None => {
                    let id = self.next.fetch_add(1, Ordering::Relaxed);
                    let (map, owned_key, work) = (self.running.clone(), key.to_owned(), fetch());
                    let task = tokio::spawn(async move {
                        let out = work.await;
                        let mut running = map.lock().expect("flights lock");
                        if running.get(&owned_key).is_some_and(|(current, _)| *current == id) {
                            running.remove(&owned_key);
                        }
                        out
                    });
                    let flight = async move {
                        task.await.unwrap_or_else(|e| Err(MirrorError::Internal(format!("a mirror fetch failed: {e}"))))
                    }
                    .boxed()
                    .shared();
                    running.insert(key.to_owned(), (id, flight.clone()));
                    flight
                }
            }
        };
        flight.await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::{Flights, MirrorError};

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
                        Ok(n)
                    })
                    .await
            }));
        }
        for waiter in waiters {
            assert_eq!(waiter.await.unwrap(), Ok(1), "every waiter sees the first fetch");
        }
        assert_eq!(started.load(Ordering::SeqCst), 1);
        // the flight is over: the next join fetches again
        assert_eq!(flights.join("packages/a", || async { Ok(7) }).await, Ok(7));
    }

    #[tokio::test]
    async fn a_flight_nobody_waits_for_still_ends_and_leaves() {
        let flights = Arc::new(Flights::<usize>::new());
        let waiter = {
            let flights = flights.clone();
            tokio::spawn(async move {
                flights
                    .join("tarballs/a", || async {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        Ok(1)
                    })
                    .await
            })
        };
        tokio::time::sleep(Duration::from_millis(10)).await;
        waiter.abort();
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(flights.running.lock().unwrap().is_empty(), "the finished flight left the map");
        // a failing fetch is shared and not kept either
        let failed = flights.join("tarballs/b", || async { Err(MirrorError::NotFound) }).await;
        assert_eq!(failed, Err(MirrorError::NotFound));
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(flights.running.lock().unwrap().is_empty());
    }
}

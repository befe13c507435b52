//! Counters for the hot paths (tarballs served, cache hits), counted by each thread apart and
//! handed to the `metrics` recorder by [`flush`]: a thread serving a tarball touches no counter
//! another thread writes. The server flushes about once a second and before every scrape.
//! Until [`start`] (metrics off) they count nothing.

use std::cell::OnceCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

static ON: AtomicBool = AtomicBool::new(false);

/// Keeps meters from now on (the process exports metrics).
pub fn start() {
    ON.store(true, Ordering::Relaxed);
}

/// Whether meters are kept.
pub fn on() -> bool {
    ON.load(Ordering::Relaxed)
}

/// The counters, by index.
static COUNTERS: Mutex<Vec<metrics::Counter>> = Mutex::new(Vec::new());

/// Every thread's counts since the last flush, by counter index (kept after a thread ends).
static THREADS: Mutex<Vec<Arc<Mutex<Vec<u64>>>>> = Mutex::new(Vec::new());

thread_local! {
    static MINE: OnceCell<Arc<Mutex<Vec<u64>>>> = const { OnceCell::new() };
}

/// A counter counted per thread.
#[derive(Debug, Clone, Copy)]
pub struct LocalCounter(usize);

impl LocalCounter {
    pub fn new(counter: metrics::Counter) -> LocalCounter {
        let mut counters = COUNTERS.lock().unwrap_or_else(PoisonError::into_inner);
        counters.push(counter);
        LocalCounter(counters.len() - 1)
    }

    pub fn increment(self, n: u64) {
        if !on() {
            return;
        }
        MINE.with(|mine| {
            let counts = mine.get_or_init(|| {
                let counts = Arc::new(Mutex::new(Vec::new()));
                THREADS.lock().unwrap_or_else(PoisonError::into_inner).push(counts.clone());
                counts
            });
            let mut counts = counts.lock().unwrap_or_else(PoisonError::into_inner);
            if counts.len() <= self.0 {
                counts.resize(self.0 + 1, 0);
            }
            counts[self.0] += n;
        });
    }
}

/// Hands every thread's counts to the recorder.
pub fn flush() {
    let threads = THREADS.lock().unwrap_or_else(PoisonError::into_inner).clone();
    let mut totals: Vec<u64> = Vec::new();
    for counts in threads {
        let taken = std::mem::take(&mut *counts.lock().unwrap_or_else(PoisonError::into_inner));
        if totals.len() < taken.len() {
            totals.resize(taken.len(), 0);
        }
        for (total, n) in totals.iter_mut().zip(taken) {
            *total += n;
        }
    }
    let counters = COUNTERS.lock().unwrap_or_else(PoisonError::into_inner);
    for (counter, n) in counters.iter().zip(totals) {
        if n > 0 {
            counter.increment(n);
        }
    }
}
